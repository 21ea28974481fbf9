//! The detail pane: everything known about the selected process. Fixed
//! fields come first, long argv and the exec history last; the lines are
//! wrapped here, so the App knows how far the pane can scroll.

use ratatui::layout::Rect;
use ratatui::style::{Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use super::{command_detail, format};
use crate::app::{App, Selected};
use crate::event::{ExecStep, Origin, ProcessInfo, Usage, WallTime};

/// The names' column: `{name:>9}  `.
const LABEL: usize = 11;

/// Logical fields, before wrapping.
#[derive(Default)]
pub struct Fields {
    items: Vec<(&'static str, String, Style)>,
}

impl Fields {
    pub fn add(&mut self, name: &'static str, value: String) {
        self.items.push((name, value, Style::new()));
    }

    pub fn styled(&mut self, name: &'static str, value: String, style: Style) {
        self.items.push((name, value, style));
    }

    /// The fields as screen lines `width` wide: values wrap at spaces
    /// where they can, and continue under their value, not their name.
    pub fn wrap(self, width: u16) -> Vec<Line<'static>> {
        let room = usize::from(width).saturating_sub(LABEL).max(8);
        let mut lines = Vec::new();
        for (name, value, style) in self.items {
            for (i, piece) in wrap(&value, room).into_iter().enumerate() {
                let label = if i == 0 { name } else { "" };
                lines.push(Line::from(vec![
                    Span::from(format!("{label:>9}  ")).dark_gray(),
                    Span::styled(piece, style),
                ]));
            }
        }
        lines
    }
}

/// Greedy word wrap; a word longer than a line is cut.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    for word in text.split(' ') {
        let len = word.chars().count();
        if used > 0 && used + 1 + len > width {
            out.push(std::mem::take(&mut line));
            used = 0;
        }
        if used > 0 {
            line.push(' ');
            used += 1;
        }
        for c in word.chars() {
            if used == width {
                out.push(std::mem::take(&mut line));
                used = 0;
            }
            line.push(c);
            used += 1;
        }
    }
    out.push(line);
    out
}

fn argv_text(argv: &[String], truncated: bool) -> String {
    let more = if truncated { " (truncated)" } else { "" };
    format!("{}{more}", format::shell_line(argv))
}

fn image_fields(f: &mut Fields, step: &ExecStep, current: bool, offset: i64) {
    let now = if current { "  (current)" } else { "" };
    f.add(
        "exec",
        format!(
            "{}  {}{now}",
            format::time_of_day(step.time, offset),
            step.filename
        ),
    );
    f.add("", argv_text(&step.argv, step.argv_truncated));
}

fn failure_fields(f: &mut Fields, step: &ExecStep, offset: i64) {
    let error = step.errno.map(crate::errno::name).unwrap_or_default();
    let attempts = if step.attempts > 1 {
        format!(" ({} attempts)", step.attempts)
    } else {
        String::new()
    };
    f.styled(
        "failed",
        format!(
            "{}  {error} {}{attempts}",
            format::time_of_day(step.time, offset),
            step.filename
        ),
        Style::new().red(),
    );
    f.add("", argv_text(&step.argv, step.argv_truncated));
    if !step.tried.is_empty() {
        f.add("tried", step.tried.join(" "));
    }
}

/// Each exec in time order: earlier images, failed attempts, and the
/// current image in its place among them.
fn history_fields(f: &mut Fields, p: &ProcessInfo, offset: i64) {
    if p.history_dropped > 0 {
        f.add(
            "execs",
            format!("{} steps left out after the first", p.history_dropped),
        );
    }
    let current = ExecStep {
        time: p.exec_time,
        comm: p.comm.clone(),
        filename: p.filename.clone(),
        argv: p.argv.clone(),
        argv_truncated: p.argv_truncated,
        ..Default::default()
    };
    // failures after the current image are stored after it, in history
    let split = p
        .history
        .iter()
        .position(|s| s.failed() && s.time >= p.exec_time)
        .unwrap_or(p.history.len());
    let (before, after) = p.history.split_at(split);
    let steps = before
        .iter()
        .map(|s| (s, false))
        .chain(std::iter::once((&current, true)))
        .chain(after.iter().map(|s| (s, false)));
    for (step, is_current) in steps {
        if step.failed() {
            failure_fields(f, step, offset);
        } else {
            image_fields(f, step, is_current, offset);
        }
    }
}

/// What a finished process used; blanks, not zeros, when unknown.
fn usage_fields(f: &mut Fields, u: Option<&Usage>) {
    // one line, not six empty ones: a recording from before accounting
    if u.is_none() {
        f.add("used", "not recorded".into());
        return;
    }
    let show = |get: fn(&Usage) -> String| u.map(get).unwrap_or_default();
    f.add(
        "cpu",
        show(|u| {
            format!(
                "{} (user {}, system {})",
                format::duration(u.cpu_ns()),
                format::duration(u.cpu_user_ns),
                format::duration(u.cpu_system_ns)
            )
        }),
    );
    f.add("max rss", show(|u| format::kib(u.max_rss_kib)));
    f.add(
        "faults",
        show(|u| format!("{} minor, {} major", u.minor_faults, u.major_faults)),
    );
    let io = |n: Option<u64>| n.map(format::bytes).unwrap_or_default();
    f.add("read", u.map(|u| io(u.read_bytes)).unwrap_or_default());
    f.add("written", u.map(|u| io(u.write_bytes)).unwrap_or_default());
    f.add(
        "switches",
        show(|u| {
            format!(
                "{} voluntary, {} involuntary",
                u.voluntary_switches, u.involuntary_switches
            )
        }),
    );
}

/// The pane's lines for a pane `width` cells wide inside its border.
pub fn lines(app: &App, width: u16) -> Vec<Line<'static>> {
    let offset = app.host().utc_offset_secs;
    let Some(selected) = app.selected() else {
        // a tree's group line is no one process: what its runs add up to
        return super::tree::group_detail(app)
            .unwrap_or_else(|| vec![Line::from("no process selected").dark_gray()]);
    };
    let (p, user): (&ProcessInfo, &str) = match &selected {
        Selected::Live(r) => (&r.info, &r.user),
        Selected::Finished(r) => (&r.exit.process, &r.user),
        Selected::Command(r) => {
            return command_detail::lines(app, r, command_detail::split(width).1)
        }
    };
    let mut f = Fields { items: Vec::new() };
    f.add("pid", p.pid.to_string());
    f.add("ppid", p.ppid.to_string());
    f.add("user", format!("{user} (uid {})", p.uid));
    let origin = match p.origin {
        Origin::Exec => "exec",
        Origin::Proc => "running before tracer-tui",
        Origin::ExitOnly => "no exec seen: forked without exec",
        Origin::Forked => "forked without exec; command line from /proc",
    };
    f.add(
        "started",
        format!("{} ({origin})", format::date_time(p.start, offset)),
    );
    match &selected {
        Selected::Live(_) => {
            f.add(
                "running",
                format::duration(app.now.0.saturating_sub(p.start.0)),
            );
        }
        Selected::Command(_) => {}
        Selected::Finished(r) => {
            let e = &r.exit;
            f.add("ended", format::date_time(e.end, offset));
            f.add("duration", format::duration(e.duration_ns));
            let style = if e.status.failed() {
                Style::new().red().bold()
            } else {
                Style::new()
            };
            f.styled("exit", format::exit_sentence(e.status), style);
            usage_fields(&mut f, e.usage.as_ref());
        }
    }
    let chain = app
        .parent_chain(p.ppid)
        .into_iter()
        .map(|(pid, comm)| format!("{comm} ({pid})"))
        .collect::<Vec<_>>()
        .join(" ← ");
    f.add("parents", chain);
    if let Selected::Finished(r) = &selected {
        if r.exit.exit_comm != p.comm {
            f.add(
                "thread",
                format!("{} (the thread that ended the process)", r.exit.exit_comm),
            );
        }
    }
    if let Some(label) = p.last_failure().and_then(ExecStep::failure_label) {
        f.styled("last exec", format!("failed: {label}"), Style::new().red());
    }
    let cut = if p.filename_truncated {
        " (may be cut)"
    } else {
        ""
    };
    f.add("filename", format!("{}{cut}", p.filename));
    f.add("cgroup id", p.cgroup_id.to_string());
    if p.not_kept {
        f.styled(
            "record",
            "not in the kernel's pid map (it was full): from the exec event".into(),
            Style::new().yellow(),
        );
    }
    if p.exec_time != p.start && p.exec_time != WallTime::default() {
        f.add("exec'd", format::date_time(p.exec_time, offset));
    }
    f.add("argv", argv_text(&p.argv, p.argv_truncated));
    if !p.history.is_empty() {
        history_fields(&mut f, p, offset);
    }
    f.wrap(width)
}

fn block(app: &App) -> Block<'static> {
    let border = if app.detail_focus {
        Style::new().cyan()
    } else {
        super::dim()
    };
    Block::bordered().border_style(border)
}

/// The lines inside a pane drawn in `area`: (content, room).
pub fn extent(area: Rect, app: &App) -> (u16, u16) {
    let inner = block(app).inner(area);
    let n = lines(app, inner.width).len();
    (u16::try_from(n).unwrap_or(u16::MAX), inner.height)
}

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let block = block(app);
    let inner = block.inner(area);
    let lines = lines(app, inner.width);
    let total = u16::try_from(lines.len()).unwrap_or(u16::MAX);
    let scroll = app.detail_scroll.min(total.saturating_sub(inner.height));
    let mut title = vec![Span::from(" Detail ").bold()];
    let selected = app.selected();
    match &selected {
        Some(Selected::Live(r)) => title = process_title(&r.info),
        Some(Selected::Finished(r)) => title = process_title(&r.exit.process),
        Some(Selected::Command(r)) => {
            title = vec![
                Span::from(format!(" {} ", r.totals.comm)).bold(),
                Span::from("every run since start "),
            ];
        }
        None => {}
    }
    let mut block = block.title(Line::from(title));
    if total > inner.height {
        let last = (scroll + inner.height).min(total);
        let hint = if app.detail_focus {
            "↑↓ PgUp PgDn"
        } else {
            "Tab to scroll"
        };
        block = block.title_top(
            Line::from(format!(" lines {}-{last}/{total} · {hint} ", scroll + 1))
                .dark_gray()
                .right_aligned(),
        );
    }
    if let Some(Selected::Command(r)) = selected {
        frame.render_widget(block, area);
        return command_detail::render(frame, inner, app, r, scroll);
    }
    frame.render_widget(Paragraph::new(lines).scroll((scroll, 0)).block(block), area);
}

fn process_title(p: &ProcessInfo) -> Vec<Span<'static>> {
    vec![
        Span::from(format!(" {} ", p.comm)).bold(),
        Span::from(format!("pid {} ", p.pid)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_spaces_and_cuts_long_words() {
        assert_eq!(wrap("ab cd ef", 5), ["ab cd", "ef"]);
        assert_eq!(wrap("abcdefgh", 3), ["abc", "def", "gh"]);
        assert_eq!(wrap("", 4), [""]);
    }
}
