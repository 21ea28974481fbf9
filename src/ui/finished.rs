//! The Finished view's rows.

use ratatui::style::{Modifier, Style, Stylize};
use ratatui::text::{Line, Span};

use super::format;
use super::tables::{is_recent, CellText, ViewRows};
use crate::app::{App, Column, FinishedColumn, FinishedRow, Table, ViewId};

impl ViewRows for FinishedColumn {
    const ID: ViewId = ViewId::Finished;
    const AT_TOP: Option<&'static str> = Some("following");

    fn table(app: &App) -> &Table<Self> {
        &app.tables.finished
    }

    fn heading(app: &App) -> Line<'static> {
        finished_title(app)
    }

    fn empty(app: &App) -> String {
        if !app.search.is_empty() {
            "no finished process matches the search".to_string()
        } else if app.min_duration.is_zero() {
            "no process has finished yet".to_string()
        } else {
            format!(
                "no process that lived {} or longer has finished yet",
                crate::app::format_duration(app.min_duration)
            )
        }
    }

    fn row(app: &App, seq: u64, selected: bool) -> Option<(Vec<CellText>, Style)> {
        let r = app.finished_row(seq)?;
        let style = if is_recent(app, r.exit.end) {
            Style::new().add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        };
        Some((finished_cells(app, r, selected), style))
    }
}

/// A selected row is drawn in the selection's colours alone, so its text
/// stays readable on the highlight.
fn finished_cells(app: &App, r: &FinishedRow, selected: bool) -> Vec<CellText> {
    let e = &r.exit;
    let offset = app.host().utc_offset_secs;
    let colour = |style: Style| if selected { Style::new() } else { style };
    <FinishedColumn as Column>::ALL
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

/// ` Finished 3483 ≥ 100ms since 14:02:11 `: what the rows are, and from
/// when they are complete when the min duration was lowered.
fn finished_title(app: &App) -> Line<'static> {
    let mut title = vec![
        Span::from(" Finished ").bold(),
        Span::from(format!("{} ", app.tables.finished.view.order.len())),
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
