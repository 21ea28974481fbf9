//! The --summary table, printed on stderr when tracing ends, in the manner
//! of `sa` and `strace -c`: one row per command (its name at exec), from
//! the kernel's per-command totals, then the whole run's totals.

use std::collections::HashMap;
use std::fmt::Write;
use std::time::Duration;

use crate::event::CommandTotals;
use crate::source::Message;

/// Longest COMMAND cell: a hostile name made visible can be four times
/// its 15 bytes; past this it is cut, with an ellipsis.
const NAME_MAX: usize = 24;

/// The latest totals of every command seen, taken from the source's
/// updates (each carries totals since start, so the last one wins).
#[derive(Clone, Debug, Default)]
pub struct Summary {
    totals: HashMap<String, CommandTotals>,
    /// names the kernel counted but lost before they were read
    unseen: u64,
}

impl Summary {
    pub fn observe(&mut self, message: &Message) {
        if let Message::Commands(update) = message {
            for t in &update.changed {
                self.totals.insert(t.comm.clone(), t.clone());
            }
            self.unseen = self.unseen.max(update.unseen);
        }
    }

    /// The table, for a run that lasted `wall`, with `ending` (how the
    /// traced command ended) on the last line when there is one.
    pub fn render(&self, wall: Duration, ending: Option<&str>) -> String {
        let rows: Vec<CommandTotals> = self.totals.values().cloned().collect();
        table(rows, wall, self.unseen, ending)
    }
}

/// Formats the table: sorted by CPU time, most first (then runs, then
/// name, so equal rows keep one order); counts in full.
pub fn table(
    mut rows: Vec<CommandTotals>,
    wall: Duration,
    unseen: u64,
    ending: Option<&str>,
) -> String {
    rows.sort_by(|a, b| {
        b.cpu_ns
            .cmp(&a.cpu_ns)
            .then(b.runs.cmp(&a.runs))
            .then(a.comm.cmp(&b.comm))
    });
    let names: Vec<String> = rows.iter().map(|r| name_cell(&r.comm)).collect();
    let name_w = names
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(0)
        .max("COMMAND".len());
    let digits = |n: u64| n.to_string().len();
    let runs_w = rows
        .iter()
        .map(|r| digits(r.runs))
        .max()
        .unwrap_or(0)
        .max(4);
    let failed_w = rows
        .iter()
        .map(|r| digits(r.failed))
        .max()
        .unwrap_or(0)
        .max(6);

    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<name_w$}  {:>runs_w$}  {:>failed_w$}  {:>8}  {:>8}  {:>8}  {:>8}  {:>8}  {:>9}",
        "COMMAND", "RUNS", "FAILED", "WALL P50", "P95", "MAX", "TOTAL", "CPU", "MAX RSS"
    );
    for (row, name) in rows.iter().zip(&names) {
        let pad = name_w - name.chars().count();
        let p = |q| row.percentile(q).map_or_else(|| "-".into(), duration);
        let _ = writeln!(
            out,
            "{name}{:pad$}  {:>runs_w$}  {:>failed_w$}  {:>8}  {:>8}  {:>8}  {:>8}  {:>8}  {:>9}",
            "",
            row.runs,
            row.failed,
            p(0.5),
            p(0.95),
            duration(row.max_duration_ns),
            duration(row.duration_ns),
            duration(row.cpu_ns),
            rss(row.max_rss_kib),
        );
    }
    let processes: u64 = rows.iter().map(|r| r.runs).sum();
    let failed: u64 = rows.iter().map(|r| r.failed).sum();
    let cpu = rows.iter().fold(0u64, |a, r| a.saturating_add(r.cpu_ns));
    let _ = writeln!(
        out,
        "total: {processes} processes, {failed} failed, {} wall, {} CPU",
        duration(u64::try_from(wall.as_nanos()).unwrap_or(u64::MAX)),
        duration(cpu)
    );
    out.push_str(
        "P50 and P95 are from the kernel's duration histogram (10 buckets a decade): \
         the middle of the bucket, within about 13 %; MAX and TOTAL are exact.\n",
    );
    if unseen > 0 {
        let _ = writeln!(
            out,
            "{unseen} commands were counted by the kernel but evicted before they were read: \
             their runs are missing."
        );
    }
    if let Some(ending) = ending {
        let _ = writeln!(out, "{}", crate::sanitize::visible(ending));
    }
    out
}

/// A command name safe to print, cut to NAME_MAX characters.
fn name_cell(comm: &str) -> String {
    let clean = crate::sanitize::visible(comm);
    if clean.chars().count() <= NAME_MAX {
        clean
    } else {
        let mut cut: String = clean.chars().take(NAME_MAX - 1).collect();
        cut.push('…');
        cut
    }
}

/// A duration in at most 8 characters: µs below a millisecond, then ms,
/// s, and minutes or hours.
pub fn duration(ns: u64) -> String {
    let us = ns / 1_000;
    if ns < 1_000_000 {
        format!("{us}µs")
    } else if ns < 1_000_000_000 {
        format!("{:.1}ms", ns as f64 / 1e6)
    } else if ns < 100_000_000_000 {
        format!("{:.2}s", ns as f64 / 1e9)
    } else if ns < 3_600_000_000_000 {
        let s = ns / 1_000_000_000;
        format!("{}m{:02}s", s / 60, s % 60)
    } else if ns < 360_000_000_000_000 {
        let m = ns / 60_000_000_000;
        format!("{}h{:02}m", m / 60, m % 60)
    } else {
        let h = ns / 3_600_000_000_000;
        format!("{}d{:02}h", h / 24, h % 24)
    }
}

/// Peak resident memory, KiB below a MiB, then MiB, then GiB.
fn rss(kib: u64) -> String {
    if kib == 0 {
        "-".into()
    } else if kib < 1024 {
        format!("{kib} KiB")
    } else if kib < 1024 * 1024 {
        format!("{:.1} MiB", kib as f64 / 1024.0)
    } else {
        format!("{:.1} GiB", kib as f64 / (1024.0 * 1024.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{ExitInfo, ExitStatus, Usage};

    fn command(
        comm: &str,
        runs: u64,
        failed: u64,
        ms: u64,
        cpu_ms: u64,
        rss: u64,
    ) -> CommandTotals {
        let mut t = CommandTotals::new(comm);
        for i in 0..runs {
            t.add_exit(&ExitInfo {
                duration_ns: ms * 1_000_000,
                status: ExitStatus(if i < failed { 1 << 8 } else { 0 }),
                usage: Some(Usage {
                    cpu_user_ns: cpu_ms * 1_000_000 / runs,
                    max_rss_kib: rss,
                    ..Default::default()
                }),
                ..Default::default()
            });
        }
        t
    }

    #[test]
    fn rows_sorted_by_cpu_with_exact_counts_and_widths() {
        let rows = vec![
            command("sh", 2, 0, 30, 4, 1500),
            command("cc1", 1_234_567, 12, 5, 90_000, 204_800),
            command("true", 3, 3, 1, 0, 0),
        ];
        let text = table(
            rows,
            Duration::from_millis(3200),
            0,
            Some("make exited with 2 after 3.2 s"),
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "COMMAND     RUNS  FAILED  WALL P50       P95       MAX     TOTAL       CPU    MAX RSS"
        );
        assert_eq!(
            lines[1],
            "cc1      1234567      12     5.0ms     5.0ms     5.0ms     1h42m    90.00s  200.0 MiB"
        );
        assert!(
            lines[2].starts_with("sh             2       0    28.1ms"),
            "{}",
            lines[2]
        );
        assert!(lines[2].ends_with("  1.5 MiB"), "{}", lines[2]);
        assert!(
            lines[3].starts_with("true           3       3"),
            "{}",
            lines[3]
        );
        assert!(lines[3].ends_with("        -"), "{}", lines[3]);
        assert_eq!(
            lines[4],
            "total: 1234572 processes, 15 failed, 3.20s wall, 90.00s CPU"
        );
        assert!(lines[5].contains("10 buckets a decade"));
        assert_eq!(lines[6], "make exited with 2 after 3.2 s");
        // every row is as wide as the header
        let width = lines[0].chars().count();
        assert!(lines[1..4].iter().all(|l| l.chars().count() == width));
    }

    #[test]
    fn hostile_names_are_made_visible_and_cut() {
        let rows = vec![
            command("\x1b[31mred\x07", 1, 0, 1, 1, 1),
            command("\u{202e}\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b", 1, 0, 1, 0, 1),
        ];
        let text = table(rows, Duration::ZERO, 2, None);
        assert!(!text.contains('\x1b') && !text.contains('\x07') && !text.contains('\u{202e}'));
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[1].starts_with("\\x1b[31mred\\x07  "), "{}", lines[1]);
        assert!(
            lines[2].starts_with("\\u{202e}\\x1b\\x1b\\x1b\\x1…  "),
            "{}",
            lines[2]
        );
        let width = lines[0].chars().count();
        assert!(lines[1..3].iter().all(|l| l.chars().count() == width));
        assert!(text.contains("2 commands were counted by the kernel but evicted"));
    }

    #[test]
    fn durations_fit_eight_columns() {
        assert_eq!(duration(0), "0µs");
        assert_eq!(duration(999_999), "999µs");
        assert_eq!(duration(1_000_000), "1.0ms");
        assert_eq!(duration(999_949_999), "999.9ms");
        assert_eq!(duration(1_500_000_000), "1.50s");
        assert_eq!(duration(99_990_000_000), "99.99s");
        assert_eq!(duration(100_000_000_000), "1m40s");
        assert_eq!(duration(3_599_000_000_000), "59m59s");
        assert_eq!(duration(359_999_000_000_000), "99h59m");
        assert_eq!(duration(360_000_000_000_000), "4d04h");
        // past 8 columns only beyond a century
        assert_eq!(duration(u64::MAX), "213503d23h");
        assert_eq!(rss(1023), "1023 KiB");
    }

    #[test]
    fn the_last_update_of_a_command_wins() {
        let mut s = Summary::default();
        let update = |runs| {
            Message::Commands(crate::source::CommandUpdate {
                changed: vec![command("make", runs, 0, 1, 1, 1)],
                ..Default::default()
            })
        };
        s.observe(&update(1));
        s.observe(&update(5));
        assert!(s
            .render(Duration::ZERO, None)
            .contains("total: 5 processes, 0 failed"));
    }
}
