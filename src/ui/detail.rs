//! The detail pane: everything known about the selected process.

use ratatui::layout::Rect;
use ratatui::style::Stylize;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

use super::format;
use crate::app::{App, Selected};
use crate::event::{Origin, ProcessInfo};

fn field(name: &'static str, value: String) -> Line<'static> {
    Line::from(vec![
        Span::from(format!("{name:>9}  ")).dark_gray(),
        Span::raw(value),
    ])
}

/// argv as a list of quoted strings; the text is already cleaned, so it is
/// shown as it is rather than escaped again.
fn argv(p: &ProcessInfo) -> String {
    let args: Vec<String> = p.argv.iter().map(|a| format!("\"{a}\"")).collect();
    let more = if p.argv_truncated { " (truncated)" } else { "" };
    format!("[{}]{more}", args.join(", "))
}

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let offset = app.host().utc_offset_secs;
    let block = Block::bordered().border_style(super::dim());
    let Some(selected) = app.selected() else {
        let text = Line::from("no process selected").dark_gray();
        frame.render_widget(Paragraph::new(text).block(block.title(" Detail ")), area);
        return;
    };
    let (p, user): (&ProcessInfo, &str) = match &selected {
        Selected::Live(r) => (&r.info, &r.user),
        Selected::Finished(r) => (&r.exit.process, &r.user),
    };
    let mut lines = vec![
        field("argv", argv(p)),
        field(
            "filename",
            format!(
                "{}{}",
                p.filename,
                if p.filename_truncated {
                    " (may be cut)"
                } else {
                    ""
                }
            ),
        ),
        field("user", format!("{user} (uid {})", p.uid)),
        field("cgroup id", p.cgroup_id.to_string()),
    ];
    let origin = match p.origin {
        Origin::Exec => "exec",
        Origin::Proc => "process start (running before tracer-tui)",
        Origin::ExitOnly => "process start (no exec seen: forked without exec)",
        Origin::Forked => "process start (forked without exec; command line from /proc)",
    };
    lines.push(field(
        "started",
        format!("{} ({origin})", format::time_of_day(p.start, offset)),
    ));
    match &selected {
        Selected::Live(_) => {
            lines.push(field(
                "running",
                format::duration(app.now.0.saturating_sub(p.start.0)),
            ));
        }
        Selected::Finished(r) => {
            let e = &r.exit;
            lines.push(field("ended", format::time_of_day(e.end, offset)));
            lines.push(field("duration", format::duration(e.duration_ns)));
            let status = Span::raw(format::exit_sentence(e.status));
            let status = if e.status.failed() {
                status.red().bold()
            } else {
                status
            };
            lines.push(Line::from(vec![
                Span::from(format!("{:>9}  ", "exit")).dark_gray(),
                status,
            ]));
        }
    }
    let chain = app
        .parent_chain(p.ppid)
        .into_iter()
        .map(|(pid, comm)| format!("{comm} ({pid})"))
        .collect::<Vec<_>>()
        .join(" ← ");
    lines.push(field("parents", chain));
    let title = Line::from(vec![
        Span::from(format!(" {} ", p.comm)).bold(),
        Span::from(format!("pid {} ", p.pid)),
    ]);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block.title(title)),
        area,
    );
}
