//! The Live view's rows.

use ratatui::style::{Style, Stylize};
use ratatui::text::{Line, Span};

use super::format;
use super::tables::{is_recent, CellText, ViewRows};
use crate::app::{App, Column, LiveColumn, Table, ViewId};

impl ViewRows for LiveColumn {
    const ID: ViewId = ViewId::Live;

    fn table(app: &App) -> &Table<Self> {
        &app.tables.live
    }

    fn heading(app: &App) -> Line<'static> {
        Line::from(vec![
            Span::from(" Live ").bold(),
            Span::from(format!("{} ", app.tables.live.view.order.len())),
        ])
    }

    fn empty(app: &App) -> String {
        if app.search.is_empty() {
            "no live processes known yet".into()
        } else {
            "no live process matches the search".into()
        }
    }

    fn row(app: &App, pid: u32, _selected: bool) -> Option<(Vec<CellText>, Style)> {
        let r = app.live_row(pid)?;
        let style = if is_recent(app, r.first_seen) {
            Style::new().green()
        } else {
            Style::new()
        };
        let age = app.now.0.saturating_sub(r.info.start.0);
        let cells = Self::ALL
            .iter()
            .map(|c| match c {
                Self::Pid => r.info.pid.to_string(),
                Self::Ppid => r.info.ppid.to_string(),
                Self::User => r.user.to_string(),
                Self::Comm => r.info.comm.clone(),
                Self::Age => format::duration(age),
                Self::Command => r.command.clone(),
            })
            .map(CellText::plain)
            .collect();
        Some((cells, style))
    }
}
