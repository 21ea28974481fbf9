//! The header: where the data comes from, rates, counts, drops, filters.

use ratatui::layout::Rect;
use ratatui::style::{Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::format;
use crate::app::{format_duration, App, RECENT_SECS};
use crate::source::{ReplayPosition, ReplayStage};

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    frame.render_widget(Paragraph::new(lines(app, area.width)), area);
}

/// How many lines the header takes at this width.
pub fn height(app: &App, width: u16) -> u16 {
    u16::try_from(lines(app, width).len()).unwrap_or(u16::MAX)
}

/// The header's lines, wrapped to `width` so nothing (the drop counter
/// above all) is cut off a narrow terminal.
fn lines(app: &App, width: u16) -> Vec<Line<'static>> {
    let host = app.host();
    let mut first = vec![Span::from(" tracer-tui ").bold().reversed(), Span::raw(" ")];
    if !host.host.is_empty() {
        first.push(Span::from(host.host.clone()).bold());
        first.push(Span::raw("  "));
    }
    if !host.kernel.is_empty() {
        first.push(Span::from(format!("kernel {}", host.kernel)));
        first.push(Span::raw("  "));
    }
    if let Some(boot) = host.boot {
        first.push(Span::from(format!(
            "up {}",
            format::duration(app.now.0.saturating_sub(boot.0))
        )));
        first.push(Span::raw("  "));
    }
    first.push(Span::from(host.source.clone()).dark_gray());
    if let Some(span) = replay_state(app) {
        first.push(span);
    }
    if let Some(scope) = &app.scope_line {
        first.push(Span::raw("  "));
        first.push(Span::from(crate::sanitize::visible(scope)).cyan().bold());
    }

    let (execs, exits) = app.rates();
    let mut second = vec![
        Span::raw(" execs/s "),
        Span::from(execs.to_string()).bold(),
        Span::raw(" "),
        Span::from(exec_sparkline(app)).green(),
        Span::raw("  exits/s "),
        Span::from(exits.to_string()).bold(),
        Span::raw("  live "),
        Span::from(app.live_count().to_string()).bold(),
        Span::raw("  finished "),
        Span::from(app.finished_count().to_string()).bold(),
    ];
    if app.evicted() > 0 {
        second.push(
            Span::from(format!(
                " ({} evicted, cap {})",
                app.evicted(),
                app.max_finished()
            ))
            .dark_gray(),
        );
    }
    let drops = app.drops.total();
    second.push(Span::raw("  drops "));
    second.push(if drops > 0 {
        Span::from(format!(
            " {drops} (ring {}+{}, map {}{}) ",
            app.drops.exec_ringbuf,
            app.drops.exit_ringbuf,
            app.drops.pid_map_full,
            traced_full(app.drops.traced_full)
        ))
        .white()
        .on_red()
        .bold()
    } else {
        Span::from("0").green()
    });

    let mut third = vec![Span::raw(" min duration ")];
    let min = Span::from(format_duration(app.min_duration)).bold();
    third.push(if app.min_duration.is_zero() {
        min
    } else {
        min.yellow()
    });
    if let Some(requested) = app.requested_min_duration {
        third.push(Span::from(format!(" (setting {}…)", format_duration(requested))).dark_gray());
    }
    if !app.search.is_empty() {
        third.push(Span::raw("  search "));
        third.push(
            Span::from(format!("\"{}\"", crate::sanitize::visible(&app.search)))
                .cyan()
                .bold(),
        );
    }
    if app.paused() {
        third.push(Span::raw("  "));
        third.push(
            Span::from(format!(" PAUSED: {} new events held ", app.held_events))
                .black()
                .on_yellow(),
        );
    }
    if let Some(notice) = &app.notice {
        third.push(Span::raw("  "));
        third.push(Span::styled(notice.clone(), Style::new().red()));
    }
    // what top cannot show: the CPU of processes that already ended
    let share = app.store.commands.cpu_share(app.now, RECENT_SECS);
    third.push(Span::raw("  finished processes used "));
    third.push(Span::from(format!("{share:.0} %")).bold());
    third.push(Span::raw(format!(" of a core in {RECENT_SECS} s")));
    [first, second, third]
        .into_iter()
        .flat_map(|spans| wrap(spans, width))
        .collect()
}

/// Execs per second over the last minute, three seconds a cell, so the
/// rates line still fits 80 columns.
fn exec_sparkline(app: &App) -> String {
    let cells: Vec<u64> = app
        .exec_history()
        .chunks(3)
        .map(|cell| cell.iter().sum())
        .collect();
    format::sparkline(&cells)
}

/// Where a replay is: loading (how much of the file is checked), playing
/// (its clock as a time of day without the milliseconds, and how far
/// through the file it is; it stops at the last event), or following a
/// stream.
fn replay_state(app: &App) -> Option<Span<'static>> {
    let offset = app.host().utc_offset_secs;
    let time = |p: &ReplayPosition| {
        let time = format::time_of_day(p.clock, offset);
        time.get(..8).unwrap_or(&time).to_string()
    };
    let Some(p) = app.replay_position else {
        return app
            .source_ended
            .then(|| Span::from("  replay finished").yellow());
    };
    Some(match p.stage {
        ReplayStage::Loading { done, total } => Span::from(format!(
            "  replay loading {}%",
            ReplayStage::loaded_percent(done, total)
        ))
        .yellow(),
        ReplayStage::Following if app.source_ended => {
            Span::from(format!("  stream ended {}", time(&p))).yellow()
        }
        ReplayStage::Following if p.clock.0 == 0 => Span::from("  following, no lines yet").green(),
        ReplayStage::Following => Span::from(format!("  following {}", time(&p))).green(),
        ReplayStage::Playing if app.source_ended => {
            Span::from(format!("  replay finished {} {}%", time(&p), p.percent())).yellow()
        }
        ReplayStage::Playing => Span::from(format!("  replay {} {}%", time(&p), p.percent())),
    })
}

/// Packs one line's items into lines `width` wide. An item begins at a
/// span that starts with two spaces (the separator between items) or is
/// only spaces; a wrapped line starts with one space instead.
fn wrap(spans: Vec<Span<'static>>, width: u16) -> Vec<Line<'static>> {
    let mut items: Vec<Vec<Span<'static>>> = Vec::new();
    for span in spans {
        let starts = span.content.starts_with("  ") || span.content.trim().is_empty();
        match items.last_mut() {
            Some(item) if !starts => item.push(span),
            _ => items.push(vec![span]),
        }
    }
    let width = usize::from(width);
    let mut lines: Vec<Vec<Span<'static>>> = vec![Vec::new()];
    let mut used = 0;
    for mut item in items {
        let w: usize = item.iter().map(Span::width).sum();
        if used > 0 && used + w > width {
            if let Some(first) = item.first_mut() {
                let rest = first.content.trim_start().to_string();
                first.content = format!(" {rest}").into();
            }
            lines.push(Vec::new());
            used = 0;
        }
        used += item.iter().map(Span::width).sum::<usize>();
        if let Some(line) = lines.last_mut() {
            line.extend(item);
        }
    }
    lines.into_iter().map(Line::from).collect()
}

/// The traced set's drops, named only when there are some: it exists only
/// when tracing one command's or one process's tree.
fn traced_full(n: u64) -> String {
    if n == 0 {
        String::new()
    } else {
        format!(", traced set {n}")
    }
}
