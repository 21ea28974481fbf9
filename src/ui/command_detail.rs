//! The detail pane of a command: a histogram of its runs' durations and
//! its runs per second over the last minute on the left; totals, how its
//! runs ended, who ran it and its last command lines on the right (these
//! scroll).

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, Paragraph, Sparkline};
use ratatui::Frame;

use super::detail::Fields;
use super::format;
use crate::app::{App, CommandRow, RECENT_SECS, WINDOW_SECS};
use crate::event::{OUTCOME_CORE, OUTCOME_LABELS};

/// The decades the histogram draws: (label, its buckets). Bucket `i`
/// holds runs from the (i-1)th bound to the ith (see
/// `DURATION_BOUNDS_NS`): 100 µs is bound 10, 1 ms bound 20, and so on.
const DECADES: [(&str, std::ops::Range<usize>); 7] = [
    ("<100µs", 0..11),
    ("<1ms", 11..21),
    ("<10ms", 21..31),
    ("<100ms", 31..41),
    ("<1s", 41..51),
    ("<10s", 51..61),
    ("≥10s", 61..72),
];
/// Seven bars six cells wide, one apart.
const CHART_WIDTH: u16 = 7 * 6 + 6;

/// Runs per decade of duration.
pub fn decades(row: &CommandRow) -> [(&'static str, u64); 7] {
    DECADES.map(|(label, range)| (label, row.totals.durations[range].iter().sum()))
}

/// The chart's width and the text's in a pane `width` wide inside its
/// border.
pub fn split(width: u16) -> (u16, u16) {
    let chart = CHART_WIDTH.min(width / 2);
    (chart, width.saturating_sub(chart + 1))
}

/// The text beside the charts, wrapped to `width`.
pub fn lines(app: &App, row: &CommandRow, width: u16) -> Vec<Line<'static>> {
    let t = &row.totals;
    let mut f = Fields::default();
    f.add(
        "runs",
        format!(
            "{} · last {RECENT_SECS} s {}",
            format::grouped(t.runs),
            format::grouped(row.runs.sum(app.now, RECENT_SECS))
        ),
    );
    let failed = format!("{} (non-zero exit or signal)", format::grouped(t.failed));
    if t.failed > 0 {
        f.styled("failed", failed, Style::new().red());
    } else {
        f.add("failed", failed);
    }
    if t.cpu_ns > 0 || t.max_rss_kib > 0 {
        let per_run = row.cpu_per_run().unwrap_or(0);
        f.add(
            "cpu",
            format!(
                "{} · {} a run",
                format::duration(t.cpu_ns),
                format::duration(per_run)
            ),
        );
        f.add("max rss", format::kib(t.max_rss_kib));
    }
    if let Some(mean) = t.duration_ns.checked_div(t.runs) {
        let pct = |p: Option<u64>| p.map(format::duration).unwrap_or_default();
        f.add(
            "duration",
            format!(
                "p50 {} · p95 {} · max {} · mean {}",
                pct(row.p50),
                pct(row.p95),
                format::duration(t.max_duration_ns),
                format::duration(mean)
            ),
        );
    }
    f.add("exits", outcomes(row));
    f.add("parents", parents(row));
    for (i, line) in row.lines.iter().rev().enumerate() {
        f.add(if i == 0 { "ran as" } else { "" }, line.clone());
    }
    f.wrap(width)
}

/// `0: 1,980 · 1: 13 · SIGKILL: 7`, most common first.
fn outcomes(row: &CommandRow) -> String {
    let counts = &row.totals.outcomes;
    let mut slots: Vec<usize> = (0..counts.len())
        .filter(|&i| i != OUTCOME_CORE && counts[i] > 0)
        .collect();
    slots.sort_by_key(|&i| std::cmp::Reverse(counts[i]));
    let mut parts: Vec<String> = slots
        .iter()
        .map(|&i| format!("{}: {}", OUTCOME_LABELS[i], format::grouped(counts[i])))
        .collect();
    if counts[OUTCOME_CORE] > 0 {
        parts.push(format!(
            "core dumped: {}",
            format::grouped(counts[OUTCOME_CORE])
        ));
    }
    if parts.is_empty() {
        "none yet".into()
    } else {
        parts.join(" · ")
    }
}

/// `make 1,800 · sh 200 (of 2,000 runs seen)`: parents are known only
/// for runs that reached the finished list.
fn parents(row: &CommandRow) -> String {
    let seen: u64 = row.parents.iter().map(|(_, n)| n).sum::<u64>() + row.other_parents;
    if seen == 0 {
        return "none seen (every run was below the min duration)".into();
    }
    let mut parts: Vec<String> = row
        .parents
        .iter()
        .map(|(p, n)| format!("{p} {}", format::grouped(*n)))
        .collect();
    if row.other_parents > 0 {
        parts.push(format!("others {}", format::grouped(row.other_parents)));
    }
    format!(
        "{} (of {} runs seen)",
        parts.join(" · "),
        format::grouped(seen)
    )
}

/// Draws the pane's inside: charts left, text right from `scroll` on.
pub fn render(frame: &mut Frame, inner: Rect, app: &App, row: &CommandRow, scroll: u16) {
    let (chart_width, text_width) = split(inner.width);
    let [chart, _, text] = Layout::horizontal([
        Constraint::Length(chart_width),
        Constraint::Length(1),
        Constraint::Length(text_width),
    ])
    .areas(inner);
    let [histogram, spark_title, spark] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(2),
    ])
    .areas(chart);
    let bar_width = chart_width.saturating_sub(6) / 7;
    let bars: Vec<Bar> = decades(row)
        .iter()
        .map(|&(label, n)| {
            Bar::default()
                .value(n)
                .text_value(format::count(n))
                .label(Line::from(label))
        })
        .collect();
    frame.render_widget(
        BarChart::new(bars)
            .bar_width(bar_width.max(1))
            .bar_gap(1)
            .bar_style(Style::new().cyan())
            .value_style(Style::new().black().on_cyan()),
        histogram,
    );
    let per_second = row.runs.recent(app.now, WINDOW_SECS);
    let peak = per_second.iter().max().copied().unwrap_or(0);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::from("runs/s, last 60 s").dark_gray(),
            Span::from(format!("  peak {}", format::grouped(peak))).dark_gray(),
        ])),
        spark_title,
    );
    frame.render_widget(
        Sparkline::default()
            .data(per_second.as_slice())
            .style(Style::new().green()),
        spark,
    );
    let lines = lines(app, row, text.width);
    frame.render_widget(Paragraph::new(lines).scroll((scroll, 0)), text);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decades_fall_on_bucket_bounds() {
        use crate::event::DURATION_BOUNDS_NS;
        let bound = |ns: u64| DURATION_BOUNDS_NS.iter().position(|&b| b == ns).unwrap() + 1;
        assert_eq!(DECADES[0].1.end, bound(100_000));
        assert_eq!(DECADES[1].1.end, bound(1_000_000));
        assert_eq!(DECADES[5].1.end, bound(10_000_000_000));
        assert!(DECADES.windows(2).all(|w| w[0].1.end == w[1].1.start));
        assert_eq!(DECADES[6].1.end, crate::event::DURATION_BUCKETS);
    }
}
