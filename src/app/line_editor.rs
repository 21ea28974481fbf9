//! A one-line editor, with the keys people bring from readline and text
//! fields: the old value starts selected so the first character typed
//! replaces it, Ctrl-U clears, Ctrl-W deletes a word, arrows, Home and End
//! move, Backspace and Delete delete.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// The longest line a prompt takes, in characters: search terms and
/// durations are short, and the line is drawn in one row.
pub const MAX_CHARS: usize = 200;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LineEditor {
    text: String,
    /// in characters, 0..=len
    cursor: usize,
    /// the whole text is selected: the next insertion or deletion replaces it
    selected: bool,
}

/// What a key did to the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edit {
    /// the text changed
    Changed,
    /// only the cursor or selection moved
    Moved,
    /// not an editing key: the prompt decides (Enter, Esc, ...)
    Ignored,
}

impl LineEditor {
    /// An editor holding the current value, selected, cursor at its end.
    pub fn with_selected(text: &str) -> Self {
        let text: String = text.chars().take(MAX_CHARS).collect();
        Self {
            cursor: text.chars().count(),
            selected: !text.is_empty(),
            text,
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The cursor, in characters from the start.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    pub fn selected(&self) -> bool {
        self.selected
    }

    fn len(&self) -> usize {
        self.text.chars().count()
    }

    fn byte(&self, chars: usize) -> usize {
        self.text
            .char_indices()
            .nth(chars)
            .map_or(self.text.len(), |(i, _)| i)
    }

    /// Removes the characters in `from..to` and puts the cursor at `from`.
    fn delete(&mut self, from: usize, to: usize) -> Edit {
        self.selected = false;
        let to = to.min(self.len());
        if from >= to {
            return Edit::Moved;
        }
        let (a, b) = (self.byte(from), self.byte(to));
        self.text.replace_range(a..b, "");
        self.cursor = from;
        Edit::Changed
    }

    /// Deletes the selection, if there is one.
    fn take_selection(&mut self) -> bool {
        if !self.selected {
            return false;
        }
        self.text.clear();
        self.cursor = 0;
        self.selected = false;
        true
    }

    fn insert(&mut self, c: char) -> Edit {
        let replaced = self.take_selection();
        if self.len() >= MAX_CHARS {
            return if replaced {
                Edit::Changed
            } else {
                Edit::Ignored
            };
        }
        let at = self.byte(self.cursor);
        self.text.insert(at, c);
        self.cursor += 1;
        Edit::Changed
    }

    /// Where the word before the cursor starts: spaces before the cursor,
    /// then the run of non-spaces before them (as readline's Ctrl-W).
    fn word_start(&self) -> usize {
        let chars: Vec<char> = self.text.chars().take(self.cursor).collect();
        let mut i = chars.len();
        while i > 0 && chars[i - 1].is_whitespace() {
            i -= 1;
        }
        while i > 0 && !chars[i - 1].is_whitespace() {
            i -= 1;
        }
        i
    }

    fn move_to(&mut self, to: usize) -> Edit {
        self.selected = false;
        self.cursor = to.min(self.len());
        Edit::Moved
    }

    pub fn handle(&mut self, key: &KeyEvent) -> Edit {
        if key.kind == KeyEventKind::Release {
            return Edit::Ignored;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        match key.code {
            KeyCode::Char('u') if ctrl => self.delete(0, self.len()),
            KeyCode::Char('w') if ctrl => {
                if self.take_selection() {
                    return Edit::Changed;
                }
                self.delete(self.word_start(), self.cursor)
            }
            KeyCode::Char('k') if ctrl => self.delete(self.cursor, self.len()),
            KeyCode::Char('a') if ctrl => self.move_to(0),
            KeyCode::Char('e') if ctrl => self.move_to(self.len()),
            // other Ctrl and Alt chords are not text: they must not insert
            // their letter (Ctrl-U once inserted "u")
            KeyCode::Char(_) if ctrl || alt => Edit::Ignored,
            KeyCode::Char(c) if !c.is_control() => self.insert(c),
            KeyCode::Backspace => {
                if self.take_selection() {
                    return Edit::Changed;
                }
                self.delete(self.cursor.saturating_sub(1), self.cursor)
            }
            KeyCode::Delete => {
                if self.take_selection() {
                    return Edit::Changed;
                }
                self.delete(self.cursor, self.cursor + 1)
            }
            KeyCode::Left => {
                // leaving a selection puts the cursor at its start, as
                // text fields do, so the old value can be edited in place
                let to = if self.selected {
                    0
                } else {
                    self.cursor.saturating_sub(1)
                };
                self.move_to(to)
            }
            KeyCode::Right => {
                let to = if self.selected {
                    self.len()
                } else {
                    self.cursor + 1
                };
                self.move_to(to)
            }
            KeyCode::Home => self.move_to(0),
            KeyCode::End => self.move_to(self.len()),
            _ => Edit::Ignored,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    fn typed(e: &mut LineEditor, text: &str) {
        for c in text.chars() {
            e.handle(&plain(KeyCode::Char(c)));
        }
    }

    #[test]
    fn first_character_replaces_the_selected_old_value() {
        let mut e = LineEditor::with_selected("100ms");
        assert!(e.selected());
        assert_eq!(e.cursor(), 5);
        typed(&mut e, "2s");
        assert_eq!(e.text(), "2s");
        assert!(!e.selected());
        assert_eq!(e.cursor(), 2);
    }

    #[test]
    fn backspace_and_delete_remove_the_selection_then_characters() {
        let mut e = LineEditor::with_selected("abc");
        assert_eq!(e.handle(&plain(KeyCode::Backspace)), Edit::Changed);
        assert_eq!(e.text(), "");
        let mut e = LineEditor::with_selected("abc");
        assert_eq!(e.handle(&plain(KeyCode::Delete)), Edit::Changed);
        assert_eq!(e.text(), "");

        let mut e = LineEditor::with_selected("abcd");
        e.handle(&plain(KeyCode::End));
        e.handle(&plain(KeyCode::Backspace));
        assert_eq!(e.text(), "abc");
        e.handle(&plain(KeyCode::Home));
        e.handle(&plain(KeyCode::Delete));
        assert_eq!((e.text(), e.cursor()), ("bc", 0));
        // nothing before the start or after the end
        assert_eq!(e.handle(&plain(KeyCode::Backspace)), Edit::Moved);
        e.handle(&plain(KeyCode::End));
        assert_eq!(e.handle(&plain(KeyCode::Delete)), Edit::Moved);
        assert_eq!(e.text(), "bc");
    }

    #[test]
    fn arrows_home_and_end_move_and_keep_the_old_value() {
        let mut e = LineEditor::with_selected("sleep");
        // Right ends the selection at the end: typing appends
        e.handle(&plain(KeyCode::Right));
        typed(&mut e, " 1");
        assert_eq!(e.text(), "sleep 1");
        e.handle(&plain(KeyCode::Left));
        e.handle(&plain(KeyCode::Left));
        typed(&mut e, "X");
        assert_eq!((e.text(), e.cursor()), ("sleepX 1", 6));
        e.handle(&plain(KeyCode::Home));
        typed(&mut e, "<");
        e.handle(&plain(KeyCode::End));
        typed(&mut e, ">");
        assert_eq!(e.text(), "<sleepX 1>");
        // the cursor stops at both ends
        for _ in 0..20 {
            e.handle(&plain(KeyCode::Right));
        }
        assert_eq!(e.cursor(), 10);
        for _ in 0..20 {
            e.handle(&plain(KeyCode::Left));
        }
        assert_eq!(e.cursor(), 0);

        // Left leaves a selection at its start
        let mut e = LineEditor::with_selected("2s");
        e.handle(&plain(KeyCode::Left));
        typed(&mut e, "1");
        assert_eq!(e.text(), "12s");
    }

    #[test]
    fn ctrl_u_clears_and_inserts_nothing() {
        let mut e = LineEditor::with_selected("100ms");
        e.handle(&plain(KeyCode::End));
        assert_eq!(e.handle(&ctrl('u')), Edit::Changed);
        assert_eq!((e.text(), e.cursor()), ("", 0));
        typed(&mut e, "5s");
        // the whole line, wherever the cursor is
        e.handle(&plain(KeyCode::Left));
        e.handle(&ctrl('u'));
        assert_eq!(e.text(), "");
        // other chords insert nothing either
        e.handle(&ctrl('x'));
        e.handle(&KeyEvent::new(KeyCode::Char('b'), KeyModifiers::ALT));
        assert_eq!(e.text(), "");
    }

    #[test]
    fn ctrl_w_deletes_the_word_before_the_cursor() {
        let mut e = LineEditor::default();
        typed(&mut e, "sleep 3601  user:root");
        e.handle(&ctrl('w'));
        assert_eq!(e.text(), "sleep 3601  ");
        e.handle(&ctrl('w'));
        assert_eq!(e.text(), "sleep ");
        // from the middle: only what is before the cursor goes
        typed(&mut e, "abc def");
        for _ in 0..4 {
            e.handle(&plain(KeyCode::Left));
        }
        e.handle(&ctrl('w'));
        assert_eq!((e.text(), e.cursor()), ("sleep  def", 6));
        // a selection goes whole
        let mut e = LineEditor::with_selected("a b");
        e.handle(&ctrl('w'));
        assert_eq!(e.text(), "");
    }

    #[test]
    fn ctrl_a_e_k_as_in_readline() {
        let mut e = LineEditor::default();
        typed(&mut e, "abcdef");
        e.handle(&ctrl('a'));
        assert_eq!(e.cursor(), 0);
        e.handle(&ctrl('e'));
        assert_eq!(e.cursor(), 6);
        e.handle(&plain(KeyCode::Left));
        e.handle(&plain(KeyCode::Left));
        e.handle(&ctrl('k'));
        assert_eq!(e.text(), "abcd");
    }

    #[test]
    fn multibyte_text_edits_by_character() {
        let mut e = LineEditor::default();
        typed(&mut e, "école");
        e.handle(&plain(KeyCode::Home));
        e.handle(&plain(KeyCode::Delete));
        assert_eq!(e.text(), "cole");
        typed(&mut e, "é");
        e.handle(&plain(KeyCode::End));
        e.handle(&plain(KeyCode::Backspace));
        assert_eq!(e.text(), "écol");
    }

    #[test]
    fn the_line_is_bounded_and_releases_are_ignored() {
        let mut e = LineEditor::default();
        typed(&mut e, &"x".repeat(MAX_CHARS + 10));
        assert_eq!(e.text().len(), MAX_CHARS);
        let long = LineEditor::with_selected(&"y".repeat(MAX_CHARS * 2));
        assert_eq!(long.text().len(), MAX_CHARS);
        let mut e = LineEditor::default();
        let mut release = plain(KeyCode::Char('a'));
        release.kind = KeyEventKind::Release;
        assert_eq!(e.handle(&release), Edit::Ignored);
        assert_eq!(e.text(), "");
        // control characters are not text
        assert_eq!(e.handle(&plain(KeyCode::Char('\u{1b}'))), Edit::Ignored);
        assert_eq!(e.handle(&plain(KeyCode::Enter)), Edit::Ignored);
    }
}
