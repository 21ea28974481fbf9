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
    fn exit_sentences() {
        assert_eq!(exit_sentence(ExitStatus(3 << 8)), "exited with code 3");
        assert_eq!(exit_sentence(ExitStatus(9)), "killed by SIGKILL (9)");
        assert_eq!(
            exit_sentence(ExitStatus(0x86)),
            "killed by SIGABRT (6), core dumped"
        );
    }
}
