//! Keys and the mouse: what each does to the App. The view in focus is
//! reached through its id; no key is handled once per table.

use ratatui::crossterm::event::{KeyEvent, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Position;

use super::keys::{self, Op};
use super::{Action, App, Mode, ViewId, Viewport, MIN_DURATION_PRESETS};
use std::time::Duration;

impl App {
    pub fn handle_key(&mut self, key: KeyEvent) -> Action {
        if keys::is_interrupt(&key) {
            return Action::Quit;
        }
        match &mut self.mode {
            Mode::Prompt(_) => self.prompt_key(key),
            Mode::Help => {
                if matches!(
                    keys::lookup(&key),
                    Some(Op::Help | Op::Quit | Op::Back | Op::Detail)
                ) {
                    self.mode = Mode::Normal;
                }
                Action::None
            }
            Mode::Normal => match keys::lookup(&key) {
                Some(op) => self.run(op),
                None => Action::None,
            },
        }
    }

    /// Scrolls the detail pane when it has the keys; false when the key is
    /// for the tables.
    fn detail_op(&mut self, op: Op) -> bool {
        if !(self.detail && self.detail_focus) {
            return false;
        }
        let page = self.detail_page();
        let scroll = self.detail_scroll;
        self.detail_scroll = match op {
            Op::Up => scroll.saturating_sub(1),
            Op::Down => scroll.saturating_add(1),
            Op::PageUp => scroll.saturating_sub(page),
            Op::PageDown => scroll.saturating_add(page),
            Op::Home => 0,
            Op::End => u16::MAX,
            _ => return false,
        };
        self.detail_for = self.selection_key();
        self.clamp_detail();
        true
    }

    /// Tab: each view in turn; an open detail pane comes after the last
    /// view of its screen (Finished, Commands), as it is drawn below them.
    fn switch(&mut self) {
        let last_on_screen = self.view.screen().last() == Some(&self.view);
        if self.detail && !self.detail_focus && last_on_screen {
            self.detail_focus = true;
        } else {
            self.detail_focus = false;
            self.view = self.view.next();
        }
    }

    /// `c`: the Commands view, and back to the process view it came from.
    fn toggle_commands(&mut self) {
        self.detail_focus = false;
        self.view = if self.view == ViewId::Commands {
            self.process_view
        } else {
            self.process_view = self.view;
            ViewId::Commands
        };
    }

    /// Opens on the process tree: a traced command's or process's tree
    /// reads best as one. `t` goes back to the Finished view.
    pub fn open_tree(&mut self) {
        if self.view != ViewId::Tree {
            self.toggle_tree();
        }
    }

    /// `t`: the tree, and back to the view it came from.
    fn toggle_tree(&mut self) {
        self.detail_focus = false;
        self.view = if self.view == ViewId::Tree {
            self.tree_from
        } else {
            self.tree_from = self.view;
            ViewId::Tree
        };
    }

    pub(crate) fn run(&mut self, op: Op) -> Action {
        if self.detail_op(op) {
            return Action::None;
        }
        let table = self.tables.get_mut(self.view);
        match op {
            Op::Up => table.move_by(-1),
            Op::Down => table.move_by(1),
            Op::PageUp => table.page(-1),
            Op::PageDown => table.page(1),
            Op::Home => table.home(),
            Op::End => table.end(),
            Op::SortNext => table.sort_next(),
            Op::SortPrev => table.sort_prev(),
            Op::SortReverse => table.reverse(),
            Op::SwitchTable => self.switch(),
            Op::Commands => self.toggle_commands(),
            Op::Tree => self.toggle_tree(),
            Op::Expand => table.expand(true),
            Op::Collapse => table.expand(false),
            Op::Search => self.open_search(),
            Op::MinDurationPrompt => self.open_min_duration(),
            Op::MinDurationUp => {
                let current = self.effective_min_duration();
                let next = MIN_DURATION_PRESETS.iter().find(|&&p| p > current);
                return self.set_min_duration(*next.unwrap_or(&MIN_DURATION_PRESETS[5]));
            }
            Op::MinDurationDown => {
                let current = self.effective_min_duration();
                let prev = MIN_DURATION_PRESETS.iter().rev().find(|&&p| p < current);
                return self.set_min_duration(*prev.unwrap_or(&Duration::ZERO));
            }
            Op::Pause => {
                if self.held.is_some() {
                    self.release_held();
                    self.held = None;
                } else {
                    self.held = Some(Vec::new());
                }
            }
            // an opened pane takes the keys, so its arrows scroll it
            Op::Detail => {
                self.detail = !self.detail;
                self.detail_focus = self.detail;
            }
            Op::Help => self.mode = Mode::Help,
            Op::Back => return self.back(),
            Op::Quit => return Action::Quit,
        }
        Action::None
    }

    /// Esc: closes what is open, innermost first (help and prompts are
    /// handled by their modes), then clears the search; with nothing open
    /// it quits.
    fn back(&mut self) -> Action {
        if self.detail {
            self.detail = false;
            self.detail_focus = false;
        } else if !self.search.is_empty() {
            // the empty search always parses
            self.set_search(String::new()).ok();
        } else {
            return Action::Quit;
        }
        Action::None
    }

    pub fn handle_mouse(&mut self, mouse: MouseEvent, viewport: &Viewport) -> Action {
        if self.mode != Mode::Normal {
            return Action::None;
        }
        let at = Position::new(mouse.column, mouse.row);
        let Some((id, area)) = viewport
            .tables
            .iter()
            .find(|(_, t)| t.header.contains(at) || t.body.contains(at))
        else {
            return Action::None;
        };
        let table = self.tables.get_mut(*id);
        match mouse.kind {
            MouseEventKind::ScrollUp => table.move_by(-3),
            MouseEventKind::ScrollDown => table.move_by(3),
            MouseEventKind::Down(MouseButton::Left) => {
                if area.header.contains(at) {
                    let column = area
                        .columns
                        .iter()
                        .position(|&(x, w)| mouse.column >= x && mouse.column < x + w);
                    // a click on a title sorts by it; a second reverses
                    if let Some(i) = column {
                        table.click(i);
                    }
                } else {
                    let index = (mouse.row - area.body.y) as usize;
                    let offset = table.offset();
                    let column = area
                        .columns
                        .iter()
                        .position(|&(x, w)| mouse.column >= x && mouse.column < x + w);
                    let dx = column.map_or(0, |i| mouse.column - area.columns[i].0);
                    table.click_row(offset + index, column.unwrap_or(usize::MAX), dx);
                }
                self.view = *id;
                self.detail_focus = false;
            }
            _ => {}
        }
        Action::None
    }
}
