//! Drawing: `draw(frame, &app)` reads the state and draws it; it changes
//! nothing and does no I/O. One module per region.

mod detail;
mod footer;
pub mod format;
mod header;
mod help;
mod prompt;
mod tables;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Style, Stylize};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use crate::app::{App, Viewport};

pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 16;
const DETAIL_HEIGHT: u16 = 12;

/// Where each region goes.
struct Areas {
    header: Rect,
    live: Rect,
    finished: Rect,
    detail: Option<Rect>,
    footer: Rect,
}

fn too_small(area: Rect) -> bool {
    area.width < MIN_WIDTH || area.height < MIN_HEIGHT
}

fn areas(area: Rect, app: &App) -> Areas {
    let detail_height = if app.detail {
        DETAIL_HEIGHT.min(area.height / 3)
    } else {
        0
    };
    let [header, tables, detail, footer] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Fill(1),
        Constraint::Length(detail_height),
        Constraint::Length(1),
    ])
    .areas(area);
    let [live, finished] =
        Layout::vertical([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(tables);
    Areas {
        header,
        live,
        finished,
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
    Viewport {
        live: Some(tables::live_area(a.live)),
        finished: Some(tables::finished_area(a.finished)),
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
    tables::render_live(frame, a.live, app);
    tables::render_finished(frame, a.finished, app);
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
mod tests_input;
