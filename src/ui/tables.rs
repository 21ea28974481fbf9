//! The live and finished tables. Only the visible rows are formatted.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table};
use ratatui::Frame;

use super::format;
use crate::app::{
    App, Column, FinishedColumn, FinishedRow, Focus, LiveColumn, LiveRow, Sort, TableArea,
    HIGHLIGHT,
};

/// Column widths, in the column enums' order; 0 takes the rest of the line,
/// so the command never pushes another column off screen.
const LIVE_WIDTHS: [u16; 6] = [7, 7, 9, 16, 7, 0];
const FINISHED_WIDTHS: [u16; 8] = [12, 7, 7, 9, 16, 9, 12, 0];
const SPACING: u16 = 1;

fn block(focused: bool) -> Block<'static> {
    let border = if focused {
        Style::new().cyan()
    } else {
        Style::new().dark_gray()
    };
    Block::bordered().border_style(border)
}

fn table_area(area: Rect, widths: &[u16]) -> TableArea {
    let inner = block(false).inner(area);
    let mut columns = Vec::with_capacity(widths.len());
    let end = inner.x + inner.width;
    let mut x = inner.x;
    for &w in widths {
        let left = end.saturating_sub(x);
        let w = if w == 0 { left } else { w.min(left) };
        columns.push((x, w));
        x = (x + w + SPACING).min(end);
    }
    TableArea {
        header: Rect {
            height: inner.height.min(1),
            ..inner
        },
        body: Rect {
            y: inner.y + inner.height.min(1),
            height: inner.height.saturating_sub(1),
            ..inner
        },
        columns,
    }
}

pub fn live_area(area: Rect) -> TableArea {
    table_area(area, &LIVE_WIDTHS)
}

pub fn finished_area(area: Rect) -> TableArea {
    table_area(area, &FINISHED_WIDTHS)
}

fn header<C: Column>(sort: Sort<C>) -> Row<'static> {
    Row::new(C::ALL.iter().map(|&c| {
        if c == sort.column {
            let arrow = if sort.descending { "▼" } else { "▲" };
            Cell::from(format!("{}{arrow}", c.title())).bold().cyan()
        } else {
            Cell::from(c.title()).bold()
        }
    }))
}

fn selected_style(focused: bool) -> Style {
    if focused {
        Style::new().black().bg(Color::Cyan)
    } else {
        Style::new().bg(Color::DarkGray)
    }
}

/// What one table shows, besides its rows' positions.
struct Contents {
    title: Line<'static>,
    focused: bool,
    head: Row<'static>,
    rows: Vec<Row<'static>>,
    empty: String,
}

fn draw_table(frame: &mut Frame, area: Rect, t: &TableArea, c: Contents) {
    let block = block(c.focused).title(c.title);
    let widths: Vec<Constraint> = t
        .columns
        .iter()
        .map(|&(_, w)| Constraint::Length(w))
        .collect();
    let no_rows = c.rows.is_empty();
    let table = Table::new(c.rows, widths)
        .header(c.head)
        .column_spacing(SPACING)
        .block(block);
    frame.render_widget(table, area);
    if no_rows && t.body.height > 0 {
        frame.render_widget(
            Paragraph::new(Line::from(c.empty).dark_gray()).centered(),
            t.body,
        );
    }
}

fn is_recent(app: &App, since: crate::event::WallTime) -> bool {
    since.0 > 0 && app.now.0.saturating_sub(since.0) < HIGHLIGHT.as_nanos() as u64
}

pub fn render_live(frame: &mut Frame, area: Rect, app: &App) {
    let t = live_area(area);
    let focused = app.focus == Focus::Live;
    let selected = app.live_view.selected_key();
    let rows = app
        .live_view
        .visible()
        .iter()
        .filter_map(|pid| app.live_row(*pid))
        .map(|r| {
            let style = if Some(r.info.pid) == selected {
                selected_style(focused)
            } else if is_recent(app, r.first_seen) {
                Style::new().green()
            } else {
                Style::new()
            };
            live_row(app, r).style(style)
        })
        .collect();
    let title = Line::from(vec![
        Span::from(" Live ").bold(),
        Span::from(format!("{} ", app.live_view.order.len())),
    ]);
    let empty = if app.search.is_empty() {
        "no live processes known yet"
    } else {
        "no live process matches the search"
    };
    let contents = Contents {
        title,
        focused,
        head: header(app.live_sort),
        rows,
        empty: empty.into(),
    };
    draw_table(frame, area, &t, contents);
}

fn live_row(app: &App, r: &LiveRow) -> Row<'static> {
    let age = app.now.0.saturating_sub(r.info.start.0);
    let cells = LiveColumn::ALL.iter().map(|c| match c {
        LiveColumn::Pid => r.info.pid.to_string(),
        LiveColumn::Ppid => r.info.ppid.to_string(),
        LiveColumn::User => r.user.to_string(),
        LiveColumn::Comm => r.info.comm.clone(),
        LiveColumn::Age => format::duration(age),
        LiveColumn::Command => r.command.clone(),
    });
    Row::new(cells)
}

pub fn render_finished(frame: &mut Frame, area: Rect, app: &App) {
    let t = finished_area(area);
    let focused = app.focus == Focus::Finished;
    let selected = app.finished_view.selected_key();
    let offset = app.host().utc_offset_secs;
    let rows = app
        .finished_view
        .visible()
        .iter()
        .filter_map(|seq| app.finished_row(*seq))
        .map(|r| {
            let is_selected = Some(r.seq) == selected;
            let row = finished_row(r, offset, is_selected);
            if is_selected {
                row.style(selected_style(focused))
            } else if is_recent(app, r.exit.end) {
                row.style(Style::new().add_modifier(Modifier::BOLD))
            } else {
                row
            }
        })
        .collect();
    let mut title = vec![
        Span::from(" Finished ").bold(),
        Span::from(format!("{} ", app.finished_view.order.len())),
    ];
    if !app.min_duration.is_zero() {
        title.push(
            Span::from(format!(
                "≥ {} ",
                crate::app::format_duration(app.min_duration)
            ))
            .yellow(),
        );
    }
    let empty = if !app.search.is_empty() {
        "no finished process matches the search".to_string()
    } else if app.min_duration.is_zero() {
        "no process has finished yet".to_string()
    } else {
        format!(
            "no process that lived {} or longer has finished yet",
            crate::app::format_duration(app.min_duration)
        )
    };
    let contents = Contents {
        title: Line::from(title),
        focused,
        head: header(app.finished_sort),
        rows,
        empty,
    };
    draw_table(frame, area, &t, contents);
}

/// A selected row is drawn in the selection's colours alone, so its text
/// stays readable on the highlight.
fn finished_row(r: &FinishedRow, utc_offset: i64, selected: bool) -> Row<'static> {
    let e = &r.exit;
    let cells = FinishedColumn::ALL.iter().map(|c| match c {
        FinishedColumn::End => Cell::from(format::time_of_day(e.end, utc_offset)),
        FinishedColumn::Pid => Cell::from(e.process.pid.to_string()),
        FinishedColumn::Ppid => Cell::from(e.process.ppid.to_string()),
        FinishedColumn::User => Cell::from(r.user.to_string()),
        FinishedColumn::Comm => Cell::from(e.exit_comm.clone()),
        FinishedColumn::Duration => Cell::from(format::duration(e.duration_ns)),
        FinishedColumn::Exit => {
            let cell = Cell::from(e.status.label());
            match (e.status.code(), e.status.signal()) {
                _ if selected => cell,
                (Some(0), _) => cell,
                (Some(_), _) => cell.red(),
                _ => cell.magenta().bold(),
            }
        }
        FinishedColumn::Command => Cell::from(r.command.clone()),
    });
    Row::new(cells)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fits<C: Column>(widths: &[u16]) {
        for (c, &w) in C::ALL.iter().zip(widths) {
            // the title with its sort arrow must show whole
            let needed = c.title().chars().count() as u16 + 1;
            assert!(
                w == 0 || needed <= w,
                "{} needs {needed} columns, has {w}",
                c.title()
            );
        }
    }

    #[test]
    fn titles_and_arrows_fit_their_columns() {
        assert_eq!(LIVE_WIDTHS.len(), LiveColumn::ALL.len());
        assert_eq!(FINISHED_WIDTHS.len(), FinishedColumn::ALL.len());
        fits::<LiveColumn>(&LIVE_WIDTHS);
        fits::<FinishedColumn>(&FINISHED_WIDTHS);
    }
}
