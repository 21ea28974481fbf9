//! The tree view's lines: a process or a group of sibling runs, with the
//! tree glyphs before its command and its subtree's totals. Names and
//! command lines come from the store's rows, cleaned when decoded.

use ratatui::style::{Modifier, Style, Stylize};
use ratatui::text::{Line, Span};

use super::format;
use super::tables::{is_recent, CellText, ViewRows};
use crate::app::{App, Column, Entry, Proc, Table, Totals, TreeColumn, ViewId};

impl ViewRows for TreeColumn {
    const ID: ViewId = ViewId::Tree;

    fn table(app: &App) -> &Table<Self> {
        &app.tables.tree.table
    }

    /// ` Tree 812 processes ` and any parent links cut to break a cycle.
    fn heading(app: &App) -> Line<'static> {
        let forest = &app.tables.tree.forest;
        let mut title = vec![
            Span::from(" Tree ").bold(),
            Span::from(format!(
                "{} processes, {} lines ",
                forest.top_down.len(),
                app.tables.tree.lines.len()
            )),
        ];
        if forest.cycles_cut > 0 {
            title.push(Span::from(format!("({} parent loops cut) ", forest.cycles_cut)).yellow());
        }
        Line::from(title)
    }

    fn empty(app: &App) -> String {
        if app.search.is_empty() {
            "no process known yet".into()
        } else {
            "no process matches the search".into()
        }
    }

    fn row(app: &App, key: u64, selected: bool) -> Option<(Vec<CellText>, Style)> {
        let tree = &app.tables.tree;
        let line = tree.line(key)?;
        let forest = &tree.forest;
        let totals = forest.totals(line.entry);
        let prefix = line.prefix();
        let colour = |style: Style| if selected { Style::new() } else { style };
        let offset = app.host().utc_offset_secs;
        let (cells, style) = match line.entry {
            Entry::Node(i) => {
                let node = forest.nodes.get(i as usize)?;
                let (pid, start, duration, exit, command, failed_exec, style) = match node.proc {
                    Proc::Live(pid) => {
                        let r = app.live_row(pid)?;
                        let style = if is_recent(app, r.first_seen) {
                            Style::new().green()
                        } else {
                            Style::new()
                        };
                        let age = app.now.0.saturating_sub(r.info.start.0);
                        let exit = CellText::styled("running".into(), colour(Style::new().green()));
                        (pid, r.info.start, age, exit, &r.command, false, style)
                    }
                    Proc::Finished(seq) => {
                        let r = app.finished_row(seq)?;
                        let e = &r.exit;
                        let style = match (e.status.code(), e.status.signal()) {
                            (Some(0), _) => Style::new(),
                            (Some(_), _) => Style::new().red(),
                            _ => Style::new().magenta().bold(),
                        };
                        let exit = CellText::styled(e.status.label(), colour(style));
                        let recent = if is_recent(app, e.end) {
                            Style::new().add_modifier(Modifier::BOLD)
                        } else {
                            Style::new()
                        };
                        let failed_exec = e.process.last_failure().is_some();
                        let (pid, start) = (e.process.pid, e.process.start);
                        (
                            pid,
                            start,
                            e.duration_ns,
                            exit,
                            &r.command,
                            failed_exec,
                            recent,
                        )
                    }
                };
                let command_style = if failed_exec {
                    Style::new().red()
                } else {
                    Style::new()
                };
                let cells = Self::ALL
                    .iter()
                    .map(|c| match c {
                        Self::Start => CellText::plain(format::time_of_day(start, offset)),
                        Self::Pid => CellText::plain(pid.to_string()),
                        Self::Duration => CellText::plain(format::duration(duration)),
                        Self::Exit => CellText {
                            text: exit.text.clone(),
                            short: None,
                            style: exit.style,
                        },
                        Self::Command => {
                            CellText::styled(format!("{prefix}{command}"), colour(command_style))
                        }
                        _ => total_cell(*c, &totals, selected),
                    })
                    .collect();
                (cells, style)
            }
            Entry::Group(g) => {
                let group = forest.groups.get(g as usize)?;
                let first = group
                    .members
                    .iter()
                    .filter_map(|&i| forest.nodes.get(i as usize))
                    .map(|n| n.start)
                    .min()
                    .unwrap_or_default();
                let cells = Self::ALL
                    .iter()
                    .map(|c| match c {
                        Self::Start => CellText::plain(format::time_of_day(first, offset)),
                        Self::Pid => CellText::plain(String::new()),
                        Self::Duration => CellText::plain(format::duration(group.longest_ns)),
                        Self::Exit => CellText::styled(
                            if totals.running > 0 {
                                format!("{} running", totals.running)
                            } else {
                                String::new()
                            },
                            colour(Style::new().green()),
                        ),
                        Self::Command => CellText::styled(
                            format!(
                                "{prefix}{}",
                                group_label(&group.name, group.members.len(), &totals)
                            ),
                            colour(Style::new().cyan()),
                        ),
                        _ => total_cell(*c, &totals, selected),
                    })
                    .collect();
                (cells, Style::new())
            }
        };
        Some((cells, style))
    }
}

/// The detail pane of a group line: what its runs add up to, and how to
/// see them one by one.
pub fn group_detail(app: &App) -> Option<Vec<Line<'static>>> {
    if app.view != ViewId::Tree {
        return None;
    }
    let tree = &app.tables.tree;
    let line = tree.line(tree.table.view.selected_key()?)?;
    let Entry::Group(g) = line.entry else {
        return None;
    };
    let group = tree.forest.groups.get(g as usize)?;
    let t = &group.totals;
    let parent = group
        .parent
        .and_then(|p| tree.forest.nodes.get(p as usize))
        .map_or("no known parent".to_string(), |n| {
            format!("parent pid {}", n.pid)
        });
    let cpu = if t.cpu_known {
        format::duration(t.cpu_ns)
    } else {
        "not known".into()
    };
    let label = |name: &str| Span::from(format!("{name:>9}  ")).dark_gray();
    Some(vec![
        Line::from(vec![
            label("runs"),
            Span::from(format!(
                "{} of {} ({parent})",
                group.members.len(),
                group.name
            )),
        ]),
        Line::from(vec![
            label("subtree"),
            Span::from(format!(
                "{} processes, {} failed, {} running",
                t.procs, t.failed, t.running
            )),
        ]),
        Line::from(vec![label("cpu"), Span::from(cpu)]),
        Line::from(vec![
            label("longest"),
            Span::from(format::duration(group.longest_ns)),
        ]),
        Line::from("→ or l lists the runs; each is a process line of its own").dark_gray(),
    ])
}

/// `cc1 ×124  (3 failed, 41.2s CPU)`: what a group line says of its runs.
pub fn group_label(name: &str, members: usize, totals: &Totals) -> String {
    let mut notes = Vec::new();
    if totals.failed > 0 {
        notes.push(format!("{} failed", totals.failed));
    }
    if totals.cpu_known {
        notes.push(format!("{} CPU", format::duration(totals.cpu_ns)));
    }
    if totals.running > 0 {
        notes.push(format!("{} running", totals.running));
    }
    if notes.is_empty() {
        format!("{name} ×{members}")
    } else {
        format!("{name} ×{members}  ({})", notes.join(", "))
    }
}

fn total_cell(column: TreeColumn, t: &Totals, selected: bool) -> CellText {
    match column {
        TreeColumn::Procs => CellText::plain(format::count(u64::from(t.procs))),
        TreeColumn::Failed => {
            let style = if t.failed > 0 && !selected {
                Style::new().red()
            } else {
                Style::new()
            };
            CellText::styled(format::count(u64::from(t.failed)), style)
        }
        // blank, not zero, when no finished process reported its usage
        TreeColumn::Cpu if t.cpu_known => CellText::plain(format::duration(t.cpu_ns)),
        _ => CellText::plain(String::new()),
    }
}
