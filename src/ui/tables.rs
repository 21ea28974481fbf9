//! The live and finished tables, drawn by one generic drawer: the column
//! type gives each column's title and width policy, this file formats the
//! cells of the visible rows (and only those).

use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table};
use ratatui::Frame;

use super::format;
use super::widths::{fit, Need, Shown, SPACING};
use crate::app::{
    App, Column, FinishedColumn, FinishedRow, Focus, LiveColumn, LiveRow, Sort, TableArea, View,
    HIGHLIGHT,
};
use crate::event::WallTime;

/// One cell of a visible row.
struct CellText {
    text: String,
    /// the form drawn when the column yields (END without its date)
    short: Option<String>,
    style: Style,
}

impl CellText {
    fn plain(text: String) -> Self {
        Self {
            text,
            short: None,
            style: Style::new(),
        }
    }

    fn styled(text: String, style: Style) -> Self {
        Self {
            style,
            ..Self::plain(text)
        }
    }
}

/// A visible row: its cells in the column enum's order, and its style.
type RowText = (Vec<CellText>, Style);

fn width(text: &str) -> u16 {
    u16::try_from(Span::raw(text).width()).unwrap_or(u16::MAX)
}

fn block(focused: bool) -> Block<'static> {
    let border = if focused {
        Style::new().cyan()
    } else {
        Style::new().dark_gray()
    };
    Block::bordered().border_style(border)
}

/// Where each column goes, from what the visible rows need.
fn layout<C: Column>(area: Rect, rows: &[RowText]) -> (TableArea, Vec<Shown>) {
    let needs: Vec<Need> = C::ALL
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let cells = rows.iter().filter_map(|(cells, _)| cells.get(i));
            let full = cells.clone().map(|t| width(&t.text)).max().unwrap_or(0);
            let short = cells
                .map(|t| width(t.short.as_deref().unwrap_or(&t.text)))
                .max()
                .unwrap_or(0);
            Need {
                width: c.width(),
                min: c.min_width(),
                full,
                short,
            }
        })
        .collect();
    let inner = block(false).inner(area);
    let shown = fit(&needs, inner.width);
    let end = inner.x + inner.width;
    let mut x = inner.x;
    let mut columns = Vec::with_capacity(shown.len());
    for s in &shown {
        let w = s.width().min(end.saturating_sub(x));
        columns.push((x, w));
        if *s != Shown::Hidden {
            x = (x + w + SPACING).min(end);
        }
    }
    let area = TableArea {
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
    };
    (area, shown)
}

fn selected_style(focused: bool) -> Style {
    if focused {
        Style::new().black().bg(Color::Cyan)
    } else {
        Style::new().bg(Color::DarkGray)
    }
}

/// What one table shows.
struct Contents<C> {
    title: Line<'static>,
    /// the selection's place, on the right of the top border
    position: Option<String>,
    focused: bool,
    sort: Sort<C>,
    rows: Vec<RowText>,
    empty: String,
}

/// The one table drawer: titles with the sort arrow, the columns that fit,
/// the visible rows, and an empty-state line.
fn draw_table<C: Column>(frame: &mut Frame, area: Rect, c: Contents<C>) {
    let (t, shown) = layout::<C>(area, &c.rows);
    let mut block = block(c.focused).title(c.title);
    if let Some(position) = c.position {
        block = block.title_top(Line::from(position).dark_gray().right_aligned());
    }
    let head = Row::new(
        C::ALL
            .iter()
            .zip(&shown)
            .filter(|(_, s)| **s != Shown::Hidden)
            .map(|(&col, _)| {
                if col == c.sort.column {
                    let arrow = if c.sort.descending { "▼" } else { "▲" };
                    Cell::from(format!("{}{arrow}", col.title())).bold().cyan()
                } else {
                    Cell::from(col.title()).bold()
                }
            }),
    );
    let no_rows = c.rows.is_empty();
    let rows: Vec<Row> = c
        .rows
        .into_iter()
        .map(|(cells, style)| {
            let cells = cells.into_iter().zip(&shown).filter_map(|(cell, s)| {
                let text = match (s, cell.short) {
                    (Shown::Hidden, _) => return None,
                    (Shown::Short(_), Some(short)) => short,
                    _ => cell.text,
                };
                Some(Cell::from(text).style(cell.style))
            });
            Row::new(cells).style(style)
        })
        .collect();
    let widths: Vec<Constraint> = shown
        .iter()
        .filter(|s| **s != Shown::Hidden)
        .map(|s| Constraint::Length(s.width()))
        .collect();
    let table = Table::new(rows, widths)
        .header(head)
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

/// `row 12/3400` when the selection is below the top; at the top, what
/// the view does as rows arrive.
fn position<K>(view: &View<K>, at_top: Option<&str>) -> Option<String> {
    if view.order.is_empty() {
        None
    } else if view.cursor > 0 {
        Some(format!(" row {}/{} ", view.cursor + 1, view.order.len()))
    } else {
        at_top.map(|s| format!(" {s} "))
    }
}

fn is_recent(app: &App, since: WallTime) -> bool {
    since.0 > 0 && app.now.0.saturating_sub(since.0) < HIGHLIGHT.as_nanos() as u64
}

fn live_rows(app: &App) -> Vec<RowText> {
    let focused = app.focus == Focus::Live && !app.detail_focus;
    let selected = app.live_view.selected_key();
    app.live_view
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
            (live_cells(app, r), style)
        })
        .collect()
}

fn live_cells(app: &App, r: &LiveRow) -> Vec<CellText> {
    let age = app.now.0.saturating_sub(r.info.start.0);
    LiveColumn::ALL
        .iter()
        .map(|c| match c {
            LiveColumn::Pid => r.info.pid.to_string(),
            LiveColumn::Ppid => r.info.ppid.to_string(),
            LiveColumn::User => r.user.to_string(),
            LiveColumn::Comm => r.info.comm.clone(),
            LiveColumn::Age => format::duration(age),
            LiveColumn::Command => r.command.clone(),
        })
        .map(CellText::plain)
        .collect()
}

/// Where the live table's columns go, for mouse clicks.
pub fn live_area(area: Rect, app: &App) -> TableArea {
    layout::<LiveColumn>(area, &live_rows(app)).0
}

pub fn render_live(frame: &mut Frame, area: Rect, app: &App) {
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
        position: position(&app.live_view, None),
        focused: app.focus == Focus::Live && !app.detail_focus,
        sort: app.live_sort,
        rows: live_rows(app),
        empty: empty.into(),
    };
    draw_table(frame, area, contents);
}

fn finished_rows(app: &App) -> Vec<RowText> {
    let focused = app.focus == Focus::Finished && !app.detail_focus;
    let selected = app.finished_view.selected_key();
    app.finished_view
        .visible()
        .iter()
        .filter_map(|seq| app.finished_row(*seq))
        .map(|r| {
            let is_selected = Some(r.seq) == selected;
            let style = if is_selected {
                selected_style(focused)
            } else if is_recent(app, r.exit.end) {
                Style::new().add_modifier(Modifier::BOLD)
            } else {
                Style::new()
            };
            (finished_cells(app, r, is_selected), style)
        })
        .collect()
}

/// A selected row is drawn in the selection's colours alone, so its text
/// stays readable on the highlight.
fn finished_cells(app: &App, r: &FinishedRow, selected: bool) -> Vec<CellText> {
    let e = &r.exit;
    let offset = app.host().utc_offset_secs;
    let colour = |style: Style| if selected { Style::new() } else { style };
    FinishedColumn::ALL
        .iter()
        .map(|c| match c {
            FinishedColumn::End => {
                let time = format::time_of_day(e.end, offset);
                if format::other_day(e.end, app.now, offset) {
                    CellText {
                        text: format::date_time(e.end, offset),
                        short: Some(time),
                        style: Style::new(),
                    }
                } else {
                    CellText::plain(time)
                }
            }
            FinishedColumn::Pid => CellText::plain(e.process.pid.to_string()),
            FinishedColumn::Ppid => CellText::plain(e.process.ppid.to_string()),
            FinishedColumn::User => CellText::plain(r.user.to_string()),
            // the process's name; the thread that ended it is in the detail pane
            FinishedColumn::Comm => CellText::plain(e.process.comm.clone()),
            FinishedColumn::Duration => CellText::plain(format::duration(e.duration_ns)),
            // blank, not zero, when unknown (an older recording)
            FinishedColumn::Cpu => CellText::plain(
                e.usage
                    .map(|u| format::duration(u.cpu_ns()))
                    .unwrap_or_default(),
            ),
            FinishedColumn::Rss => CellText::plain(
                e.usage
                    .map(|u| format::kib(u.max_rss_kib))
                    .unwrap_or_default(),
            ),
            FinishedColumn::Exit => {
                let style = match (e.status.code(), e.status.signal()) {
                    (Some(0), _) => Style::new(),
                    (Some(_), _) => Style::new().red(),
                    _ => Style::new().magenta().bold(),
                };
                CellText::styled(e.status.label(), colour(style))
            }
            FinishedColumn::Command => {
                let style = if e.process.last_failure().is_some() {
                    Style::new().red()
                } else {
                    Style::new()
                };
                CellText::styled(r.command.clone(), colour(style))
            }
        })
        .collect()
}

/// Where the finished table's columns go, for mouse clicks.
pub fn finished_area(area: Rect, app: &App) -> TableArea {
    layout::<FinishedColumn>(area, &finished_rows(app)).0
}

/// ` Finished 3483 ≥ 100ms since 14:02:11 `: what the rows are, and from
/// when they are complete when the min duration was lowered.
fn finished_title(app: &App) -> Line<'static> {
    let mut title = vec![
        Span::from(" Finished ").bold(),
        Span::from(format!("{} ", app.finished_view.order.len())),
    ];
    let min = app.min_duration;
    if !min.is_zero() {
        title.push(Span::from(format!("≥ {} ", crate::app::format_duration(min))).yellow());
    }
    if let Some(since) = app.finished_complete_since() {
        let offset = app.host().utc_offset_secs;
        let mut when = format::time_of_day(since, offset);
        when.truncate(8);
        if format::other_day(since, app.now, offset) {
            when = format::date_time(since, offset);
            when.truncate(19);
        }
        let what = if min.is_zero() { "all " } else { "" };
        title.push(Span::from(format!("{what}since {when} ")).yellow());
    }
    Line::from(title)
}

pub fn render_finished(frame: &mut Frame, area: Rect, app: &App) {
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
        title: finished_title(app),
        position: position(&app.finished_view, Some("following")),
        focused: app.focus == Focus::Finished && !app.detail_focus,
        sort: app.finished_sort,
        rows: finished_rows(app),
        empty,
    };
    draw_table(frame, area, contents);
}
