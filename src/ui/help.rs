//! The help overlay, drawn from the key table.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::Stylize;
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Row, Table};
use ratatui::Frame;

use crate::app::BINDINGS;

const MOUSE: [(&str, &str); 3] = [
    ("wheel", "scroll the table under the pointer"),
    ("click title", "sort by that column; again to reverse"),
    ("click row", "select it"),
];

pub fn render(frame: &mut Frame, area: Rect) {
    let height = (BINDINGS.len() + MOUSE.len() + 3) as u16;
    let popup = area.centered(Constraint::Max(80), Constraint::Max(height));
    let rows = BINDINGS
        .iter()
        .map(|b| Row::new([b.label.to_string(), b.help.to_string()]))
        .chain(
            MOUSE
                .iter()
                .map(|(k, h)| Row::new([format!("mouse {k}"), h.to_string()]).dark_gray()),
        );
    let table = Table::new(rows, [Constraint::Length(17), Constraint::Fill(1)])
        .column_spacing(2)
        .block(
            Block::bordered()
                .title(Line::from(" Keys ").bold())
                .title_bottom(Line::from(" ? Esc q: close ").centered()),
        );
    frame.render_widget(Clear, popup);
    frame.render_widget(table, popup);
}
