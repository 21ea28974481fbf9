//! The open prompts (search, min duration): what is being typed, and what
//! Enter and Esc do with it.

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::line_editor::{Edit, LineEditor};
use super::{format_duration, Action, App, Mode};
use crate::cli::parse_min_duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PromptKind {
    Search,
    MinDuration,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prompt {
    pub kind: PromptKind,
    pub editor: LineEditor,
    /// why the text cannot be applied; drawn next to it
    pub error: Option<String>,
    /// the search in force when the prompt opened, for Esc to restore
    before: String,
}

impl Prompt {
    fn new(kind: PromptKind, value: &str) -> Self {
        Self {
            kind,
            editor: LineEditor::with_selected(value),
            error: None,
            before: value.to_string(),
        }
    }

    pub fn text(&self) -> &str {
        self.editor.text()
    }
}

impl App {
    pub(super) fn open_search(&mut self) {
        self.mode = Mode::Prompt(Prompt::new(PromptKind::Search, &self.search));
    }

    pub(super) fn open_min_duration(&mut self) {
        let value = format_duration(self.effective_min_duration());
        self.mode = Mode::Prompt(Prompt::new(PromptKind::MinDuration, &value));
    }

    fn prompt_error(&mut self, error: String) {
        if let Mode::Prompt(prompt) = &mut self.mode {
            prompt.error = Some(error);
        }
    }

    pub(super) fn prompt_key(&mut self, key: KeyEvent) -> Action {
        let Mode::Prompt(prompt) = &mut self.mode else {
            return Action::None;
        };
        let kind = prompt.kind;
        match key.code {
            // cancel: the search in force before the prompt comes back
            KeyCode::Esc => {
                let before = std::mem::take(&mut prompt.before);
                self.mode = Mode::Normal;
                if kind == PromptKind::Search && before != self.search {
                    // it was in force before, so it parses
                    let _ = self.set_search(before);
                }
            }
            KeyCode::Enter => match kind {
                PromptKind::Search => {
                    let text = prompt.text().to_string();
                    match self.set_search(text) {
                        Ok(()) => self.mode = Mode::Normal,
                        Err(e) => self.prompt_error(e),
                    }
                }
                PromptKind::MinDuration => match parse_min_duration(prompt.text()) {
                    Ok(d) => {
                        self.mode = Mode::Normal;
                        return self.set_min_duration(d);
                    }
                    Err(e) => prompt.error = Some(e),
                },
            },
            _ => {
                if prompt.editor.handle(&key) != Edit::Changed {
                    return Action::None;
                }
                prompt.error = None;
                if kind == PromptKind::Search {
                    // the tables follow the search as it is typed; a term
                    // not yet valid leaves the last valid search in force
                    let text = prompt.text().to_string();
                    if let Err(e) = self.set_search(text) {
                        self.prompt_error(e);
                    }
                }
            }
        }
        Action::None
    }
}
