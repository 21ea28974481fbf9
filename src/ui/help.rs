//! The help overlay, drawn from the key table, with the search terms and
//! the mouse. When the terminal is short, the keys come first: the terms
//! and then the mouse go before any key is cut.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::Stylize;
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Row, Table};
use ratatui::Frame;

use crate::app::BINDINGS;

/// The search terms, as `app::filter` parses them.
const SEARCH: [(&str, &str); 5] = [
    (
        "word 1234",
        "command lines, comm, file, user; a number: PID, PPID",
    ),
    ("-word \"a b\"", "exclude a term; a phrase. Terms are ANDed"),
    ("pid:N ppid:N", "that process; its children"),
    ("user:NAME", "a user's processes (name or uid)"),
    ("exit:!0 exit:N", "failed (code or signal); that exit code"),
];

const MOUSE: [(&str, &str); 4] = [
    ("wheel", "scroll the table under the pointer"),
    ("click title", "sort by that column; again to reverse"),
    ("click row", "select it"),
    ("click ▸ ▾", "open or close that tree line"),
];

pub fn render(frame: &mut Frame, area: Rect) {
    // borders and the table's own title row
    let room = area.height.saturating_sub(2) as usize;
    let mut rows: Vec<Row> = BINDINGS
        .iter()
        .map(|b| Row::new([b.label.to_string(), b.help.to_string()]))
        .collect();
    for (title, section, style) in [
        ("search terms", &SEARCH[..], false),
        ("mouse", &MOUSE[..], true),
    ] {
        // a section goes whole, with its title line, or not at all
        if rows.len() + section.len() + 1 > room {
            break;
        }
        rows.push(Row::new([title.to_string(), String::new()]).bold());
        rows.extend(section.iter().map(|(k, h)| {
            let row = Row::new([k.to_string(), h.to_string()]);
            if style {
                row.dark_gray()
            } else {
                row
            }
        }));
    }
    let height = rows.len() as u16 + 2;
    let popup = area.centered(Constraint::Max(80), Constraint::Max(height));
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
