//! The Commands view's rows: one per command, its totals since start.

use ratatui::style::{Modifier, Style, Stylize};
use ratatui::text::{Line, Span};

use super::format;
use super::tables::{is_recent, CellText, ViewRows};
use crate::app::{App, Column, CommandColumn, Table, ViewId, RECENT_SECS};

impl ViewRows for CommandColumn {
    const ID: ViewId = ViewId::Commands;

    fn table(app: &App) -> &Table<Self> {
        &app.tables.commands
    }

    /// ` Commands 212 ` and what is missing from the totals, if anything.
    fn heading(app: &App) -> Line<'static> {
        let commands = &app.store.commands;
        let mut title = vec![
            Span::from(" Commands ").bold(),
            Span::from(format!("{} ", app.tables.commands.view.order.len())),
        ];
        if commands.evicted > 0 {
            title.push(
                Span::from(format!("({} least recent dropped) ", commands.evicted)).dark_gray(),
            );
        }
        if commands.kernel_restarted > 0 {
            title.push(
                Span::from(format!(
                    "{} recounted after the kernel's table filled ",
                    commands.kernel_restarted
                ))
                .yellow(),
            );
        }
        if commands.kernel_unseen > 0 {
            title.push(
                Span::from(format!(
                    "{} names came and went uncounted while the kernel's table was full ",
                    commands.kernel_unseen
                ))
                .white()
                .on_red(),
            );
        }
        Line::from(title)
    }

    fn empty(app: &App) -> String {
        if app.search.is_empty() {
            "no process has finished yet".into()
        } else {
            "no command matches the search".into()
        }
    }

    fn row(app: &App, id: u64, selected: bool) -> Option<(Vec<CellText>, Style)> {
        let r = app.command_row(id)?;
        let t = &r.totals;
        let style = if is_recent(app, r.last_run) {
            Style::new().add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        };
        // a replay of a recording without figures: blank, not zero (every
        // process uses some CPU)
        let known = t.cpu_ns > 0 || t.max_rss_kib > 0;
        let duration = |ns: Option<u64>| ns.map(format::duration).unwrap_or_default();
        let cells = Self::ALL
            .iter()
            .map(|c| match c {
                Self::Command => CellText::plain(t.comm.clone()),
                Self::Runs => CellText::plain(format::count(t.runs)),
                Self::Failed => {
                    let style = if t.failed > 0 && !selected {
                        Style::new().red()
                    } else {
                        Style::new()
                    };
                    CellText::styled(format::count(t.failed), style)
                }
                Self::Cpu => CellText::plain(duration(known.then_some(t.cpu_ns))),
                Self::CpuPerRun => CellText::plain(duration(r.cpu_per_run().filter(|_| known))),
                Self::P50 => CellText::plain(duration(r.p50)),
                Self::P95 => CellText::plain(duration(r.p95)),
                Self::Max => CellText::plain(duration((t.runs > 0).then_some(t.max_duration_ns))),
                Self::MaxRss => CellText::plain(if known {
                    format::kib(t.max_rss_kib)
                } else {
                    String::new()
                }),
                Self::Recent => CellText::plain(format::count(r.runs.sum(app.now, RECENT_SECS))),
                Self::Line => CellText::plain(r.lines.back().cloned().unwrap_or_default()),
            })
            .collect();
        Some((cells, style))
    }
}
