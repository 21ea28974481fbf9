//! Drawing: `draw(frame, &app)` reads the state and draws it; it changes
//! nothing and does no I/O. One module per region.

mod command_detail;
mod commands;
mod detail;
mod finished;
mod footer;
pub mod format;
mod header;
mod help;
mod live;
mod prompt;
mod tables;
mod tree;
mod widths;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Style, Stylize};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use crate::app::{App, ViewId, Viewport};

pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 16;
const DETAIL_HEIGHT: u16 = 12;
/// A table's borders and header: its height with no rows.
const TABLE_CHROME: u16 = 3;
/// The live table's share of the space when both tables need more.
const LIVE_SHARE_PERCENT: u16 = 40;

/// Where each region goes.
struct Areas {
    header: Rect,
    /// the tables of the screen in focus
    tables: Vec<(ViewId, Rect)>,
    detail: Option<Rect>,
    footer: Rect,
}

fn too_small(area: Rect) -> bool {
    area.width < MIN_WIDTH || area.height < MIN_HEIGHT
}

/// The live table's height out of `total` rows for the two tables: its
/// rows, as far as the finished table can spare them. An empty or short
/// live table gives its rows to the finished table; when both need more
/// than there is, the live table keeps its share.
fn live_height(total: u16, live_rows: usize, finished_rows: usize) -> u16 {
    let need =
        |rows: usize| TABLE_CHROME.saturating_add(u16::try_from(rows.max(1)).unwrap_or(u16::MAX));
    let (live, finished) = (need(live_rows), need(finished_rows));
    let height = if live.saturating_add(finished) <= total {
        live
    } else {
        let share = total * LIVE_SHARE_PERCENT / 100;
        live.min(share.max(total.saturating_sub(finished)))
    };
    // both tables keep room for a row or their empty-state line
    let least = TABLE_CHROME + 1;
    height
        .min(total.saturating_sub(least))
        .max(least.min(total))
}

fn areas(area: Rect, app: &App) -> Areas {
    // the pane is as tall as its lines, up to a third of the screen (half
    // of a tall one); it scrolls for the rest
    let detail_height = if app.detail {
        let cap = if area.height >= 40 {
            area.height / 2
        } else {
            area.height / 3
        };
        let lines = detail::lines(app, area.width.saturating_sub(2)).len();
        let need = u16::try_from(lines).unwrap_or(u16::MAX).saturating_add(2);
        need.min(cap).max(DETAIL_HEIGHT.min(cap))
    } else {
        0
    };
    let header_height = header::height(app, area.width).min(area.height / 4);
    let [header, tables, detail, footer] = Layout::vertical([
        Constraint::Length(header_height),
        Constraint::Fill(1),
        Constraint::Length(detail_height),
        Constraint::Length(1),
    ])
    .areas(area);
    let tables = match app.view.screen() {
        [ViewId::Live, ViewId::Finished] => {
            let live_rows = live_height(
                tables.height,
                app.shown_bound(ViewId::Live),
                app.shown_bound(ViewId::Finished),
            );
            let [live, finished] =
                Layout::vertical([Constraint::Length(live_rows), Constraint::Fill(1)])
                    .areas(tables);
            vec![(ViewId::Live, live), (ViewId::Finished, finished)]
        }
        // a screen of one view has the space to itself
        views => views.iter().map(|&id| (id, tables)).collect(),
    };
    Areas {
        header,
        tables,
        detail: app.detail.then_some(detail),
        footer,
    }
}

/// Where the tables will be drawn in a terminal of this size: main gives
/// it to the App before drawing, for scrolling and mouse clicks.
pub fn viewport(area: Rect, app: &App) -> Viewport {
    if too_small(area) {
        return Viewport::default();
    }
    let a = areas(area, app);
    let (detail_lines, detail_height) = a.detail.map_or((0, 0), |d| detail::extent(d, app));
    Viewport {
        tables: a
            .tables
            .iter()
            .map(|&(id, area)| (id, tables::table_area(id, area, app)))
            .collect(),
        detail_lines,
        detail_height,
    }
}

pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    if too_small(area) {
        let text = vec![
            Line::from("Terminal too small".bold()),
            Line::from(format!(
                "{}x{}: tracer-tui needs at least {MIN_WIDTH}x{MIN_HEIGHT}.",
                area.width, area.height
            )),
            Line::from("Enlarge the window, or press q to quit."),
        ];
        frame.render_widget(
            Paragraph::new(text).wrap(Wrap { trim: true }).centered(),
            area,
        );
        return;
    }
    let a = areas(area, app);
    header::render(frame, a.header, app);
    for &(id, area) in &a.tables {
        tables::render(id, frame, area, app);
    }
    if let Some(detail) = a.detail {
        detail::render(frame, detail, app);
    }
    footer::render(frame, a.footer, app);
    if app.mode == crate::app::Mode::Help {
        help::render(frame, area);
    }
}

fn dim() -> Style {
    Style::new().dark_gray()
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_commands;
#[cfg(test)]
mod tests_input;
#[cfg(test)]
mod tests_layout;
#[cfg(test)]
mod tests_tree;
