//! How times, durations and exit statuses read on screen.

use crate::event::{ExitStatus, WallTime};

/// A duration in the fewest characters that still tell it apart:
/// `850µs`, `12.3ms`, `3.21s`, `5m03s`, `2h05m`, `3d04h`.
pub fn duration(ns: u64) -> String {
    const MS: u64 = 1_000_000;
    const S: u64 = 1_000 * MS;
    match ns {
        n if n < MS => format!("{}µs", n / 1_000),
        n if n < 10 * MS => format!("{:.2}ms", n as f64 / MS as f64),
        n if n < S => format!("{:.1}ms", n as f64 / MS as f64),
        n if n < 60 * S => format!("{:.2}s", n as f64 / S as f64),
        n if n < 3600 * S => format!("{}m{:02}s", n / (60 * S), n / S % 60),
        n if n < 86_400 * S => format!("{}h{:02}m", n / (3600 * S), n / (60 * S) % 60),
        n => format!("{}d{:02}h", n / (86_400 * S), n / (3600 * S) % 24),
    }
}

/// Counts as a line of eighth blocks, scaled to their largest; a zero is
/// a blank, so "none" and "a few" differ.
pub fn sparkline(values: &[u64]) -> String {
    const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = values.iter().copied().max().unwrap_or(0).max(1);
    values
        .iter()
        .map(|&v| match v {
            0 => ' ',
            v => BLOCKS[((v.saturating_mul(8) - 1) / max).min(7) as usize],
        })
        .collect()
}

/// A count in full (`2000`, not `2.0k`), as far as nine digits go.
pub fn count(n: u64) -> String {
    if n < 1_000_000_000 {
        n.to_string()
    } else {
        format!("{:.2}G", n as f64 / 1e9)
    }
}

/// A count with thousands separated: `1,980`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A size given in KiB, in at most 5 characters: `812K`, `35.2M`, `1.20G`.
pub fn kib(n: u64) -> String {
    const M: u64 = 1024;
    const G: u64 = 1024 * M;
    let f = n as f64;
    match n {
        n if n < M => format!("{n}K"),
        n if n < 100 * M => format!("{:.1}M", f / M as f64),
        n if n < G => format!("{}M", n / M),
        n if n < 100 * G => format!("{:.2}G", f / G as f64),
        n => format!("{}G", n / G),
    }
}

/// A byte count, in the fewest characters: `0B`, `4.0K`, `20.0M`.
pub fn bytes(n: u64) -> String {
    if n < 1024 {
        format!("{n}B")
    } else {
        kib(n / 1024)
    }
}

/// Time of day, with milliseconds, in the given UTC offset.
pub fn time_of_day(t: WallTime, utc_offset_secs: i64) -> String {
    let local_ms = (t.0 / 1_000_000) as i64 + utc_offset_secs * 1000;
    let day_ms = local_ms.rem_euclid(86_400_000);
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        day_ms / 3_600_000,
        day_ms / 60_000 % 60,
        day_ms / 1000 % 60,
        day_ms % 1000
    )
}

/// The local calendar day of `t`: days since 1970-01-01.
fn local_day(t: WallTime, utc_offset_secs: i64) -> i64 {
    ((t.0 / 1_000_000_000) as i64 + utc_offset_secs).div_euclid(86_400)
}

/// Year, month and day of a count of days since 1970-01-01 (proleptic
/// Gregorian; Howard Hinnant's civil_from_days).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `2023-11-14 22:13:20.123`: the date and time of day.
pub fn date_time(t: WallTime, utc_offset_secs: i64) -> String {
    let (y, m, d) = civil(local_day(t, utc_offset_secs));
    format!("{y:04}-{m:02}-{d:02} {}", time_of_day(t, utc_offset_secs))
}

/// Whether `t` falls on another local day than `now`.
pub fn other_day(t: WallTime, now: WallTime, utc_offset_secs: i64) -> bool {
    local_day(t, utc_offset_secs) != local_day(now, utc_offset_secs)
}

/// An argument as a shell would need it typed, so that quotes and spaces
/// inside arguments read unambiguously: plain words stay bare, anything
/// else is single-quoted with each `'` written as `'\''`. The text is
/// already sanitised and this adds only quotes and backslashes, so no
/// control character can appear.
pub fn shell_quote(arg: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c);
    if !arg.is_empty() && arg.chars().all(plain) {
        return arg.to_string();
    }
    format!("'{}'", arg.replace('\'', "'\\''"))
}

/// A command line with each argument shell-quoted.
pub fn shell_line(argv: &[String]) -> String {
    argv.iter()
        .map(|a| shell_quote(a))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A sentence for the detail pane.
pub fn exit_sentence(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(sig)) => {
            let core = if status.core_dumped() {
                ", core dumped"
            } else {
                ""
            };
            format!("killed by {} ({sig}){core}", crate::signals::label(sig))
        }
        (None, None) => format!("status {}", status.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines() {
        assert_eq!(sparkline(&[0, 1, 4, 8]), " ▁▄█");
        assert_eq!(sparkline(&[0, 0]), "  ");
        assert_eq!(sparkline(&[3]), "█");
    }

    #[test]
    fn counts() {
        assert_eq!(count(2000), "2000");
        assert_eq!(count(999_999), "999999");
        assert_eq!(count(123_456_789), "123456789");
        assert_eq!(count(1_500_000_000), "1.50G");
        assert_eq!(grouped(1980), "1,980");
        assert_eq!(grouped(7), "7");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }

    #[test]
    fn durations() {
        assert_eq!(duration(850_000), "850µs");
        assert_eq!(duration(1_234_567), "1.23ms");
        assert_eq!(duration(12_345_678), "12.3ms");
        assert_eq!(duration(3_210_000_000), "3.21s");
        assert_eq!(duration(303_000_000_000), "5m03s");
        assert_eq!(duration(7_500_000_000_000), "2h05m");
        assert_eq!(duration(273_600_000_000_000), "3d04h");
    }

    #[test]
    fn times_of_day() {
        let t = WallTime(1_700_000_000_123_000_000); // 22:13:20.123 UTC
        assert_eq!(time_of_day(t, 0), "22:13:20.123");
        assert_eq!(time_of_day(t, 3600), "23:13:20.123");
        assert_eq!(time_of_day(t, -23 * 3600), "23:13:20.123");
    }

    #[test]
    fn dates() {
        let t = WallTime(1_700_000_000_123_000_000); // 2023-11-14 22:13:20.123 UTC
        assert_eq!(date_time(t, 0), "2023-11-14 22:13:20.123");
        assert_eq!(date_time(t, 3 * 3600), "2023-11-15 01:13:20.123");
        assert_eq!(date_time(WallTime(0), 0), "1970-01-01 00:00:00.000");
        // a leap day
        assert_eq!(
            date_time(WallTime(951_782_400 * 1_000_000_000), 0),
            "2000-02-29 00:00:00.000"
        );
        let hour = 3_600_000_000_000;
        assert!(!other_day(t, WallTime(t.0 + hour), 0));
        assert!(other_day(t, WallTime(t.0 + 2 * hour), 0));
        assert!(!other_day(t, WallTime(t.0 + 2 * hour), -3600));
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("--cfg"), "--cfg");
        assert_eq!(shell_quote("a=b,c:d/e.f@g%h+i_j"), "a=b,c:d/e.f@g%h+i_j");
        assert_eq!(
            shell_quote(r#"feature="clone-impls""#),
            r#"'feature="clone-impls"'"#
        );
        assert_eq!(shell_quote("two words"), "'two words'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("$HOME"), "'$HOME'");
        // sanitised text keeps its visible escapes, and quoting adds no control character
        let clean = crate::sanitize::visible("a\x1b[2Jb\u{202e}");
        let quoted = shell_quote(&clean);
        assert!(!quoted.chars().any(char::is_control), "{quoted:?}");
        assert_eq!(quoted, format!("'{clean}'"));
        let argv = [
            "rustc".to_string(),
            "--cfg".into(),
            r#"feature="x y""#.into(),
        ];
        assert_eq!(shell_line(&argv), r#"rustc --cfg 'feature="x y"'"#);
    }

    #[test]
    fn exit_sentences() {
        assert_eq!(exit_sentence(ExitStatus(3 << 8)), "exited with code 3");
        assert_eq!(exit_sentence(ExitStatus(9)), "killed by SIGKILL (9)");
        assert_eq!(
            exit_sentence(ExitStatus(0x86)),
            "killed by SIGABRT (6), core dumped"
        );
    }
}
