//! The one key table: it decides what a key does, and the help overlay and
//! footer are drawn from it, so they cannot list a key that does nothing.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// What a key asks for, in the main view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    SwitchTable,
    Commands,
    Tree,
    Expand,
    Collapse,
    SortNext,
    SortPrev,
    SortReverse,
    Search,
    MinDurationPrompt,
    MinDurationUp,
    MinDurationDown,
    Pause,
    Detail,
    Help,
    Back,
    Quit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// a key with no Ctrl or Alt (Shift is part of the character)
    Plain(KeyCode),
    Ctrl(char),
}

pub struct Binding {
    pub keys: &'static [Key],
    /// how the help overlay names the keys
    pub label: &'static str,
    pub help: &'static str,
    /// the footer's short name, for the main keys
    pub footer: Option<&'static str>,
    pub op: Op,
}

use Key::{Ctrl, Plain};
use KeyCode::{Char, F};

pub const BINDINGS: &[Binding] = &[
    Binding {
        keys: &[Plain(KeyCode::Up), Plain(Char('k'))],
        label: "↑ k",
        help: "select the row above",
        footer: None,
        op: Op::Up,
    },
    Binding {
        keys: &[Plain(KeyCode::Down), Plain(Char('j'))],
        label: "↓ j",
        help: "select the row below",
        footer: None,
        op: Op::Down,
    },
    Binding {
        keys: &[Plain(KeyCode::PageUp)],
        label: "PgUp",
        help: "up one page",
        footer: None,
        op: Op::PageUp,
    },
    Binding {
        keys: &[Plain(KeyCode::PageDown)],
        label: "PgDn",
        help: "down one page",
        footer: None,
        op: Op::PageDown,
    },
    Binding {
        keys: &[Plain(KeyCode::Home), Plain(Char('g'))],
        label: "Home g",
        help: "first row",
        footer: None,
        op: Op::Home,
    },
    Binding {
        keys: &[Plain(KeyCode::End), Plain(Char('G'))],
        label: "End G",
        help: "last row",
        footer: None,
        op: Op::End,
    },
    Binding {
        keys: &[Plain(KeyCode::Tab), Plain(KeyCode::BackTab)],
        label: "Tab",
        help: "next view (Live, Finished, Commands), then an open pane",
        footer: Some("Switch"),
        op: Op::SwitchTable,
    },
    Binding {
        keys: &[Plain(Char('c'))],
        label: "c",
        help: "Commands: totals per command; again to go back",
        footer: Some("Commands"),
        op: Op::Commands,
    },
    Binding {
        keys: &[Plain(Char('t')), Plain(F(5))],
        label: "t F5",
        help: "Tree: processes under their birth parent; again: back",
        // not in the footer: its line is full at 80 columns
        footer: None,
        op: Op::Tree,
    },
    Binding {
        keys: &[Plain(KeyCode::Right), Plain(Char('l'))],
        label: "→ l",
        help: "tree: open the line, or step into it",
        footer: None,
        op: Op::Expand,
    },
    Binding {
        keys: &[Plain(KeyCode::Left), Plain(Char('h'))],
        label: "← h",
        help: "tree: close the line, or step out to its parent",
        footer: None,
        op: Op::Collapse,
    },
    Binding {
        keys: &[Plain(Char('>')), Plain(F(6))],
        label: "> F6",
        help: "sort by the next column",
        footer: Some("Sort"),
        op: Op::SortNext,
    },
    Binding {
        keys: &[Plain(Char('<'))],
        label: "<",
        help: "sort by the previous column",
        footer: None,
        op: Op::SortPrev,
    },
    Binding {
        keys: &[Plain(Char('r')), Plain(Char('I'))],
        label: "r I",
        help: "reverse the sort order",
        footer: Some("Reverse"),
        op: Op::SortReverse,
    },
    Binding {
        keys: &[Plain(Char('/'))],
        label: "/",
        help: "search or filter (terms below); Esc clears",
        footer: Some("Search"),
        op: Op::Search,
    },
    Binding {
        keys: &[Plain(Char('d'))],
        label: "d",
        help: "set the min duration of finished processes (150ms, 2s)",
        footer: Some("Min-dur"),
        op: Op::MinDurationPrompt,
    },
    Binding {
        keys: &[Plain(Char('+')), Plain(Char('='))],
        label: "+",
        help: "next min-duration preset (0 1ms 10ms 100ms 1s 10s)",
        footer: None,
        op: Op::MinDurationUp,
    },
    Binding {
        keys: &[Plain(Char('-'))],
        label: "-",
        help: "previous min-duration preset",
        footer: None,
        op: Op::MinDurationDown,
    },
    Binding {
        keys: &[Plain(Char(' '))],
        label: "Space",
        help: "pause the display (collection goes on)",
        footer: Some("Pause"),
        op: Op::Pause,
    },
    Binding {
        keys: &[Plain(KeyCode::Enter)],
        label: "Enter",
        help: "open or close the detail pane",
        footer: Some("Detail"),
        op: Op::Detail,
    },
    Binding {
        keys: &[Plain(Char('?')), Plain(F(1))],
        label: "? F1",
        help: "this help",
        footer: Some("Help"),
        op: Op::Help,
    },
    Binding {
        keys: &[Plain(KeyCode::Esc)],
        label: "Esc",
        help: "close help, prompt, detail; then clear search; then quit",
        footer: None,
        op: Op::Back,
    },
    Binding {
        keys: &[Plain(Char('q')), Ctrl('c')],
        label: "q ^C",
        help: "quit",
        footer: Some("Quit"),
        op: Op::Quit,
    },
];

impl Key {
    fn matches(self, event: &KeyEvent) -> bool {
        let ctrl_or_alt = event
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        match self {
            Plain(code) => !ctrl_or_alt && event.code == code,
            Ctrl(c) => event.modifiers.contains(KeyModifiers::CONTROL) && event.code == Char(c),
        }
    }
}

/// The operation bound to a key press (releases and repeats of Ctrl keys aside).
pub fn lookup(event: &KeyEvent) -> Option<Op> {
    if event.kind == KeyEventKind::Release {
        return None;
    }
    BINDINGS
        .iter()
        .find(|b| b.keys.iter().any(|k| k.matches(event)))
        .map(|b| b.op)
}

/// Whether this is Ctrl-C, which quits from anywhere, prompts included.
pub fn is_interrupt(event: &KeyEvent) -> bool {
    Ctrl('c').matches(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn every_binding_is_reachable() {
        for b in BINDINGS {
            for k in b.keys {
                let event = match *k {
                    Plain(code) => key(code),
                    Ctrl(c) => KeyEvent::new(Char(c), KeyModifiers::CONTROL),
                };
                assert_eq!(lookup(&event), Some(b.op), "{k:?}");
            }
        }
    }

    #[test]
    fn shifted_characters_and_ctrl() {
        assert_eq!(
            lookup(&KeyEvent::new(Char('>'), KeyModifiers::SHIFT)),
            Some(Op::SortNext)
        );
        assert_eq!(
            lookup(&KeyEvent::new(Char('G'), KeyModifiers::SHIFT)),
            Some(Op::End)
        );
        assert_eq!(
            lookup(&KeyEvent::new(Char('c'), KeyModifiers::CONTROL)),
            Some(Op::Quit)
        );
        assert_eq!(
            lookup(&KeyEvent::new(Char('q'), KeyModifiers::CONTROL)),
            None
        );
        assert_eq!(lookup(&key(Char('x'))), None);
    }
}
