//! The header: where the data comes from, rates, counts, drops, filters.

use ratatui::layout::Rect;
use ratatui::style::{Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::format;
use crate::app::{format_duration, App};

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
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
    // the replay's clock (time of day, without the milliseconds) and how far
    // through the file it is; it stops at the last event
    let position = app.replay_position.map(|p| {
        let time = format::time_of_day(p.clock, host.utc_offset_secs);
        format!(" {} {}%", &time[..8], p.percent())
    });
    let position = position.unwrap_or_default();
    if app.source_ended {
        first.push(Span::from(format!("  replay finished{position}")).yellow());
    } else if !position.is_empty() {
        first.push(Span::from(format!("  replay{position}")));
    }

    let (execs, exits) = app.rates();
    let mut second = vec![
        Span::raw(" execs/s "),
        Span::from(execs.to_string()).bold(),
        Span::raw("  exits/s "),
        Span::from(exits.to_string()).bold(),
        Span::raw("  live "),
        Span::from(app.live_count().to_string()).bold(),
        Span::raw("  finished "),
        Span::from(app.finished_count().to_string()).bold(),
    ];
    if app.evicted > 0 {
        second.push(
            Span::from(format!(
                " ({} evicted, cap {})",
                app.evicted,
                app.max_finished()
            ))
            .dark_gray(),
        );
    }
    let drops = app.drops.total();
    second.push(Span::raw("  drops "));
    second.push(if drops > 0 {
        Span::from(format!(
            " {drops} (ring {}+{}, map {}) ",
            app.drops.exec_ringbuf, app.drops.exit_ringbuf, app.drops.pid_map_full
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
    let lines = vec![Line::from(first), Line::from(second), Line::from(third)];
    frame.render_widget(Paragraph::new(lines), area);
}
