//! Reading one record line back into an event. A file may have been
//! written by anything: its text is cleaned again and cut to the kernel's
//! limits, and numbers the kernel cannot produce are refused rather than
//! shown as something else.

use std::fmt;
use std::time::UNIX_EPOCH;

use serde::Deserialize;

use super::caps;
use crate::event::{
    Drops, ExecStep, ExitInfo, ExitStatus, FailedExec, Origin, ProcessInfo, TraceEvent, Usage,
    WallTime, MAX_HISTORY, MAX_TRIED,
};
use crate::sanitize;

/// Why a line could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}

#[derive(Deserialize)]
struct LineIn {
    event: String,
    time: String,
    pid: Option<u32>,
    ppid: Option<u32>,
    uid: Option<u32>,
    comm: Option<String>,
    filename: Option<String>,
    argv: Option<Vec<String>>,
    #[serde(default)]
    argv_truncated: bool,
    #[serde(default)]
    filename_truncated: bool,
    #[serde(default)]
    cgroup_id: u64,
    origin: Option<String>,
    start_time: Option<String>,
    duration_ns: Option<u64>,
    exit_code: Option<i64>,
    signal: Option<u64>,
    #[serde(default)]
    core_dumped: bool,
    status: Option<u32>,
    exit_comm: Option<String>,
    #[serde(default)]
    exec_ringbuf: u64,
    #[serde(default)]
    exit_ringbuf: u64,
    #[serde(default)]
    pid_map_full: u64,
    #[serde(default)]
    exec_failed_ringbuf: u64,
    #[serde(default)]
    fork_ringbuf: u64,
    #[serde(default)]
    undecodable: u64,
    #[serde(default)]
    traced_full: u64,
    errno: Option<i32>,
    #[serde(default)]
    history: Vec<StepIn>,
    #[serde(default)]
    history_dropped: u32,
    #[serde(default)]
    not_kept: bool,
    processes: Option<Vec<GoneIn>>,
    exec_time: Option<String>,
    cpu_user_ns: Option<u64>,
    cpu_system_ns: Option<u64>,
    max_rss_kib: Option<u64>,
    minor_faults: Option<u64>,
    major_faults: Option<u64>,
    read_bytes: Option<u64>,
    write_bytes: Option<u64>,
    voluntary_switches: Option<u64>,
    involuntary_switches: Option<u64>,
}

impl LineIn {
    /// An exit's resource use: known when its CPU times are there (lines
    /// written before it was reported have none of these keys).
    fn usage(&self) -> Option<Usage> {
        Some(Usage {
            cpu_user_ns: self.cpu_user_ns?,
            cpu_system_ns: self.cpu_system_ns?,
            max_rss_kib: self.max_rss_kib.unwrap_or_default(),
            minor_faults: self.minor_faults.unwrap_or_default(),
            major_faults: self.major_faults.unwrap_or_default(),
            read_bytes: self.read_bytes,
            write_bytes: self.write_bytes,
            voluntary_switches: self.voluntary_switches.unwrap_or_default(),
            involuntary_switches: self.involuntary_switches.unwrap_or_default(),
        })
    }
}

#[derive(Deserialize)]
struct StepIn {
    time: String,
    #[serde(default)]
    comm: String,
    #[serde(default)]
    filename: String,
    #[serde(default)]
    argv: Vec<String>,
    #[serde(default)]
    argv_truncated: bool,
    errno: Option<i32>,
    #[serde(default)]
    tried: Vec<String>,
    #[serde(default)]
    attempts: u32,
}

#[derive(Deserialize)]
struct GoneIn {
    pid: u32,
    start_time: String,
}

/// Text from a file, made visible and cut to `max` bytes.
fn text(raw: &str, max: usize) -> (String, bool) {
    caps::cut(&sanitize::visible(raw), max)
}

fn clean_argv(raw: Vec<String>, failed: bool) -> (Vec<String>, bool) {
    let args = raw.iter().map(|a| sanitize::visible(a)).collect();
    if failed {
        caps::failed_argv(args)
    } else {
        caps::argv(args)
    }
}

fn step_from(s: StepIn) -> Result<ExecStep, ParseError> {
    let (argv, cut_short) = clean_argv(s.argv, s.errno.is_some());
    Ok(ExecStep {
        time: time(&s.time, "history time")?,
        comm: text(&s.comm, caps::COMM).0,
        filename: text(&s.filename, caps::FILENAME).0,
        argv,
        argv_truncated: s.argv_truncated || cut_short,
        errno: s.errno,
        tried: s
            .tried
            .iter()
            .take(MAX_TRIED)
            .map(|t| text(t, caps::FILENAME).0)
            .collect(),
        attempts: s.attempts,
    })
}

/// An RFC 3339 time the nanosecond clock can hold: from 1970 to 2554.
/// Anything else is refused, not moved to the nearest end.
fn time(text: &str, key: &str) -> Result<WallTime, ParseError> {
    let at = humantime::parse_rfc3339(text)
        .map_err(|e| ParseError(format!("bad {key} {:?}: {e}", sanitize::visible(text))))?;
    at.duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| u64::try_from(d.as_nanos()).ok())
        .map(WallTime)
        .ok_or_else(|| {
            ParseError(format!(
                "{key} {:?} is out of range (1970 to 2554)",
                sanitize::visible(text)
            ))
        })
}

fn need<T>(value: Option<T>, key: &str) -> Result<T, ParseError> {
    value.ok_or_else(|| ParseError(format!("missing key \"{key}\"")))
}

/// The wait(2) status an exit line describes. exit_code and signal must be
/// ones a process can have: -1 or 2147483647 are not shown as 255.
fn exit_status(l: &LineIn) -> Result<ExitStatus, ParseError> {
    if let Some(code) = l.exit_code.filter(|c| !(0..=255).contains(c)) {
        return Err(ParseError(format!(
            "exit_code {code} is out of range (0 to 255)"
        )));
    }
    if let Some(sig) = l.signal.filter(|s| !(1..=64).contains(s)) {
        return Err(ParseError(format!(
            "signal {sig} is out of range (1 to 64)"
        )));
    }
    Ok(match (l.status, l.exit_code, l.signal) {
        (Some(raw), _, _) => ExitStatus(raw),
        (None, Some(code), _) => ExitStatus((code as u32) << 8),
        (None, None, Some(sig)) => ExitStatus(sig as u32 | if l.core_dumped { 0x80 } else { 0 }),
        (None, None, None) => {
            return Err(ParseError("exit has neither exit_code nor signal".into()))
        }
    })
}

/// Reads one line back into an event.
pub fn parse_line(line: &str) -> Result<TraceEvent, ParseError> {
    let l: LineIn = serde_json::from_str(line).map_err(|e| ParseError(e.to_string()))?;
    let at = time(&l.time, "time")?;
    if l.event == "lost" {
        let drops = Drops {
            exec_ringbuf: l.exec_ringbuf,
            exit_ringbuf: l.exit_ringbuf,
            pid_map_full: l.pid_map_full,
            exec_failed_ringbuf: l.exec_failed_ringbuf,
            fork_ringbuf: l.fork_ringbuf,
            undecodable: l.undecodable,
            traced_full: l.traced_full,
        };
        return Ok(TraceEvent::Lost { time: at, drops });
    }
    if l.event == "gone" {
        let processes = need(l.processes.as_ref(), "processes")?
            .iter()
            .map(|g| Ok((g.pid, time(&g.start_time, "start_time")?)))
            .collect::<Result<_, ParseError>>()?;
        return Ok(TraceEvent::Gone {
            time: at,
            processes,
        });
    }
    if !matches!(l.event.as_str(), "exec" | "exec_failed" | "exit") {
        return Err(ParseError(format!(
            "unknown event {:?}",
            sanitize::visible(&l.event)
        )));
    }
    let failed = l.event == "exec_failed";
    let status = match l.event.as_str() {
        "exit" => Some(exit_status(&l)?),
        _ => None,
    };
    let mut history_dropped = l.history_dropped;
    let usage = l.usage();
    let steps = l.history.len();
    if steps > MAX_HISTORY {
        let over = u32::try_from(steps - MAX_HISTORY).unwrap_or(u32::MAX);
        history_dropped = history_dropped.saturating_add(over);
    }
    let history = l
        .history
        .into_iter()
        .take(MAX_HISTORY)
        .map(step_from)
        .collect::<Result<Vec<_>, _>>()?;
    let (pid, ppid, uid) = (
        need(l.pid, "pid")?,
        need(l.ppid, "ppid")?,
        need(l.uid, "uid")?,
    );
    let comm = text(&need(l.comm, "comm")?, caps::COMM).0;
    let (filename, filename_cut) = text(&need(l.filename, "filename")?, caps::FILENAME);
    let (argv, argv_cut) = clean_argv(need(l.argv, "argv")?, failed);
    let process = |start: WallTime, exec_time: WallTime| ProcessInfo {
        pid,
        ppid,
        uid,
        comm: comm.clone(),
        filename: filename.clone(),
        argv: argv.clone(),
        argv_truncated: l.argv_truncated || argv_cut,
        filename_truncated: l.filename_truncated || filename_cut,
        cgroup_id: l.cgroup_id,
        start,
        start_boot_ns: 0,
        exec_time,
        origin: origin_from(l.origin.as_deref()),
        history: history.clone(),
        history_dropped,
        not_kept: l.not_kept,
    };
    // recordings from before start_time was on exec lines: the exec's time
    let start = match &l.start_time {
        Some(s) => Some(time(s, "start_time")?),
        None => None,
    };
    let exec_time = match &l.exec_time {
        Some(s) => Some(time(s, "exec_time")?),
        None => None,
    };
    match (l.event.as_str(), status) {
        ("exec", _) => Ok(TraceEvent::Exec(process(start.unwrap_or(at), at))),
        ("exec_failed", _) => {
            let p = process(start.unwrap_or(at), at);
            let errno = need(l.errno, "errno")?;
            Ok(TraceEvent::ExecFailed(FailedExec::from_attempt(p, errno)))
        }
        ("exit", Some(status)) => {
            let duration_ns = need(l.duration_ns, "duration_ns")?;
            let start = start.unwrap_or(WallTime(at.0.saturating_sub(duration_ns)));
            let process = process(start, exec_time.unwrap_or(start));
            let exit_comm = match l.exit_comm.as_deref() {
                Some(c) => text(c, caps::COMM).0,
                None => process.comm.clone(),
            };
            Ok(TraceEvent::Exit(ExitInfo {
                process,
                exit_comm,
                end: at,
                duration_ns,
                status,
                usage,
            }))
        }
        _ => Err(ParseError("exit has neither exit_code nor signal".into())),
    }
}

fn origin_from(name: Option<&str>) -> Origin {
    match name {
        Some("proc") => Origin::Proc,
        Some("exit") => Origin::ExitOnly,
        Some("fork") => Origin::Forked,
        _ => Origin::Exec,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXIT: &str = r#"{"event":"exit","time":"2024-01-01T00:00:01Z","pid":5,"ppid":1,"uid":0,"comm":"x","filename":"/x","argv":[],"duration_ns":1000000000"#;

    #[test]
    fn parses_a_minimal_hand_written_exit() {
        let line = format!("{EXIT},\"exit_code\":2,\"signal\":null,\"core_dumped\":false}}");
        let TraceEvent::Exit(e) = parse_line(&line).unwrap() else {
            panic!()
        };
        assert_eq!(e.status.code(), Some(2));
        assert_eq!(e.process.start, WallTime(1_704_067_200_000_000_000));
    }

    #[test]
    fn rejects_bad_lines_with_a_reason() {
        assert!(parse_line("not json").is_err());
        assert!(parse_line(r#"{"event":"exec","time":"yesterday"}"#)
            .unwrap_err()
            .0
            .contains("bad time"));
        assert!(
            parse_line(r#"{"event":"exec","time":"2024-01-01T00:00:00Z"}"#)
                .unwrap_err()
                .0
                .contains("pid")
        );
        assert!(
            parse_line(r#"{"event":"boom","time":"2024-01-01T00:00:00Z"}"#)
                .unwrap_err()
                .0
                .contains("unknown event")
        );
    }

    #[test]
    fn replayed_text_is_cleaned() {
        let line = r#"{"event":"exec","time":"2024-01-01T00:00:00Z","pid":5,"ppid":1,"uid":0,"comm":"\u001b[31mred","filename":"/x","argv":["\u202e"]}"#;
        let TraceEvent::Exec(p) = parse_line(line).unwrap() else {
            panic!()
        };
        assert_eq!(p.comm, "\\x1b[31mred");
        assert_eq!(p.argv, ["\\u{202e}"]);
    }

    #[test]
    fn exit_codes_and_signals_out_of_range_are_refused_not_shown_as_255() {
        for (extra, why) in [
            (
                r#""exit_code":-1"#,
                "exit_code -1 is out of range (0 to 255)",
            ),
            (
                r#""exit_code":2147483647"#,
                "exit_code 2147483647 is out of range (0 to 255)",
            ),
            (r#""exit_code":256"#, "exit_code 256 is out of range"),
            (
                r#""exit_code":null,"signal":200"#,
                "signal 200 is out of range (1 to 64)",
            ),
            (r#""exit_code":null,"signal":0"#, "signal 0 is out of range"),
        ] {
            let err = parse_line(&format!("{EXIT},{extra}}}")).unwrap_err().0;
            assert!(err.starts_with(why), "{extra}: {err}");
        }
        let TraceEvent::Exit(e) = parse_line(&format!("{EXIT},\"exit_code\":255}}")).unwrap()
        else {
            panic!()
        };
        assert_eq!(e.status.code(), Some(255));
    }

    #[test]
    fn times_the_clock_cannot_hold_are_refused_not_clamped() {
        let line = r#"{"event":"exec","time":"9999-12-31T23:59:59Z","pid":5,"ppid":1,"uid":0,"comm":"x","filename":"/x","argv":[]}"#;
        assert_eq!(
            parse_line(line).unwrap_err().0,
            "time \"9999-12-31T23:59:59Z\" is out of range (1970 to 2554)"
        );
        let before = line.replace("9999-12-31T23:59:59Z", "1969-12-31T23:59:59Z");
        assert!(parse_line(&before).unwrap_err().0.contains("out of range"));
        let last = line.replace("9999-12-31T23:59:59Z", "2554-07-21T23:34:33Z");
        assert!(parse_line(&last).is_ok());
    }

    #[test]
    fn the_largest_pid_and_drop_counters_are_kept_whole() {
        let line = r#"{"event":"exec","time":"2024-01-01T00:00:00Z","pid":4294967295,"ppid":4294967295,"uid":4294967295,"comm":"x","filename":"/x","argv":[]}"#;
        let TraceEvent::Exec(p) = parse_line(line).unwrap() else {
            panic!()
        };
        assert_eq!((p.pid, p.ppid, p.uid), (u32::MAX, u32::MAX, u32::MAX));
        let max = u64::MAX;
        let lost = format!(
            r#"{{"event":"lost","time":"2024-01-01T00:00:00Z","exec_ringbuf":{max},"exit_ringbuf":{max},"pid_map_full":1}}"#
        );
        let TraceEvent::Lost { drops, .. } = parse_line(&lost).unwrap() else {
            panic!()
        };
        // the sum stops at the top, rather than wrapping to a small number
        assert_eq!(drops.total(), u64::MAX);
    }

    #[test]
    fn text_is_cut_to_the_kernels_limits_and_marked() {
        let huge = "a".repeat(1_000_000);
        let line = format!(
            r#"{{"event":"exec","time":"2024-01-01T00:00:00Z","pid":5,"ppid":1,"uid":0,"comm":"{huge}","filename":"/{huge}","argv":["{huge}","b"],"history":[{}]}}"#,
            vec![format!(r#"{{"time":"2024-01-01T00:00:00Z","argv":["{huge}"]}}"#); 40].join(",")
        );
        let TraceEvent::Exec(p) = parse_line(&line).unwrap() else {
            panic!()
        };
        assert_eq!(p.comm.len(), 15);
        assert_eq!(p.filename.len(), 255);
        assert!(p.filename_truncated);
        assert_eq!(p.argv, ["a".repeat(512)]);
        assert!(p.argv_truncated);
        assert_eq!(p.history.len(), MAX_HISTORY);
        assert_eq!(p.history_dropped, 8);
        assert!(p
            .history
            .iter()
            .all(|s| s.argv_truncated && s.argv[0].len() == 512));
        // what it reads, it writes back and reads again the same
        assert_eq!(
            parse_line(&crate::record::to_line(&TraceEvent::Exec(p.clone()))),
            Ok(TraceEvent::Exec(p))
        );
    }
}
