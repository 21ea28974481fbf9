//! The NDJSON record format: `--json` writes it, `--record` saves it and
//! `--replay` reads it back. One object per line; see the README for keys.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::event::{
    Drops, ExecStep, ExitInfo, ExitStatus, FailedExec, Origin, ProcessInfo, TraceEvent, WallTime,
    MAX_HISTORY, MAX_TRIED,
};
use crate::sanitize;

#[derive(Serialize)]
struct ProcessOut<'a> {
    pid: u32,
    ppid: u32,
    uid: u32,
    comm: &'a str,
    filename: &'a str,
    argv: &'a [String],
    argv_truncated: bool,
    filename_truncated: bool,
    cgroup_id: u64,
    origin: &'static str,
    /// the process's start (its fork)
    start_time: String,
    /// when the current image was exec'd
    exec_time: String,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    history: Vec<StepOut<'a>>,
    #[serde(skip_serializing_if = "is_zero")]
    history_dropped: u32,
    /// the kernel's pid map was full: no record of it there
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    not_kept: bool,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// One earlier image or folded run of failed execs.
#[derive(Serialize)]
struct StepOut<'a> {
    time: String,
    comm: &'a str,
    filename: &'a str,
    argv: &'a [String],
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    argv_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    errno: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    tried: &'a [String],
    #[serde(skip_serializing_if = "is_zero")]
    attempts: u32,
}

impl<'a> StepOut<'a> {
    fn new(s: &'a ExecStep) -> Self {
        Self {
            time: s.time.rfc3339(),
            comm: &s.comm,
            filename: &s.filename,
            argv: &s.argv,
            argv_truncated: s.argv_truncated,
            errno: s.errno,
            error: s.errno.map(crate::errno::name),
            tried: &s.tried,
            attempts: s.attempts,
        }
    }
}

#[derive(Serialize)]
struct FailedOut<'a> {
    event: &'static str,
    time: String,
    pid: u32,
    ppid: u32,
    uid: u32,
    comm: &'a str,
    filename: &'a str,
    argv: &'a [String],
    argv_truncated: bool,
    errno: i32,
    error: String,
    start_time: String,
}

#[derive(Serialize)]
struct GoneOut {
    event: &'static str,
    time: String,
    processes: Vec<GoneProcess>,
}

#[derive(Serialize, Deserialize)]
struct GoneProcess {
    pid: u32,
    start_time: String,
}

impl<'a> ProcessOut<'a> {
    fn new(p: &'a ProcessInfo) -> Self {
        Self {
            pid: p.pid,
            ppid: p.ppid,
            uid: p.uid,
            comm: &p.comm,
            filename: &p.filename,
            argv: &p.argv,
            argv_truncated: p.argv_truncated,
            filename_truncated: p.filename_truncated,
            cgroup_id: p.cgroup_id,
            origin: origin_name(p.origin),
            start_time: p.start.rfc3339(),
            exec_time: p.exec_time.rfc3339(),
            history: p.history.iter().map(StepOut::new).collect(),
            history_dropped: p.history_dropped,
            not_kept: p.not_kept,
        }
    }
}

#[derive(Serialize)]
struct ExecOut<'a> {
    event: &'static str,
    time: String,
    #[serde(flatten)]
    process: ProcessOut<'a>,
}

#[derive(Serialize)]
struct ExitOut<'a> {
    event: &'static str,
    time: String,
    #[serde(flatten)]
    process: ProcessOut<'a>,
    duration_ns: u64,
    exit_code: Option<i32>,
    signal: Option<u32>,
    signal_name: Option<String>,
    core_dumped: bool,
    status: u32,
    exit_comm: &'a str,
}

#[derive(Serialize, Deserialize)]
struct LostOut {
    event: String,
    time: String,
    exec_ringbuf: u64,
    exit_ringbuf: u64,
    pid_map_full: u64,
    #[serde(default)]
    exec_failed_ringbuf: u64,
    #[serde(default)]
    undecodable: u64,
}

/// One event as a JSON line (without the newline).
pub fn to_line(event: &TraceEvent) -> String {
    let json = match event {
        TraceEvent::Exec(p) => serde_json::to_string(&ExecOut {
            event: "exec",
            time: p.exec_time.rfc3339(),
            process: ProcessOut::new(p),
        }),
        TraceEvent::ExecFailed(f) => serde_json::to_string(&FailedOut {
            event: "exec_failed",
            time: f.time.rfc3339(),
            pid: f.pid,
            ppid: f.ppid,
            uid: f.uid,
            comm: &f.comm,
            filename: &f.filename,
            argv: &f.argv,
            argv_truncated: f.argv_truncated,
            errno: f.errno,
            error: crate::errno::name(f.errno),
            start_time: f.start.rfc3339(),
        }),
        TraceEvent::Gone { time, processes } => serde_json::to_string(&GoneOut {
            event: "gone",
            time: time.rfc3339(),
            processes: processes
                .iter()
                .map(|&(pid, start)| GoneProcess {
                    pid,
                    start_time: start.rfc3339(),
                })
                .collect(),
        }),
        TraceEvent::Exit(e) => serde_json::to_string(&ExitOut {
            event: "exit",
            time: e.end.rfc3339(),
            process: ProcessOut::new(&e.process),
            duration_ns: e.duration_ns,
            exit_code: e.status.code(),
            signal: e.status.signal(),
            signal_name: e.status.signal().map(crate::signals::label),
            core_dumped: e.status.core_dumped(),
            status: e.status.0,
            exit_comm: &e.exit_comm,
        }),
        TraceEvent::Lost { time, drops } => serde_json::to_string(&LostOut {
            event: "lost".into(),
            time: time.rfc3339(),
            exec_ringbuf: drops.exec_ringbuf,
            exit_ringbuf: drops.exit_ringbuf,
            pid_map_full: drops.pid_map_full,
            exec_failed_ringbuf: drops.exec_failed_ringbuf,
            undecodable: drops.undecodable,
        }),
    };
    // these types hold only strings and numbers: serialising cannot fail
    json.unwrap_or_default()
}

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
    exit_code: Option<i32>,
    signal: Option<u32>,
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
    undecodable: u64,
    errno: Option<i32>,
    #[serde(default)]
    history: Vec<StepIn>,
    #[serde(default)]
    history_dropped: u32,
    #[serde(default)]
    not_kept: bool,
    processes: Option<Vec<GoneProcess>>,
    exec_time: Option<String>,
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

fn step_from(s: &StepIn) -> Result<ExecStep, ParseError> {
    Ok(ExecStep {
        time: time(&s.time, "history time")?,
        comm: sanitize::visible(&s.comm),
        filename: sanitize::visible(&s.filename),
        argv: s.argv.iter().map(|a| sanitize::visible(a)).collect(),
        argv_truncated: s.argv_truncated,
        errno: s.errno,
        tried: s
            .tried
            .iter()
            .take(MAX_TRIED)
            .map(|t| sanitize::visible(t))
            .collect(),
        attempts: s.attempts,
    })
}

fn time(text: &str, key: &str) -> Result<WallTime, ParseError> {
    humantime::parse_rfc3339(text)
        .map(WallTime::from_system_time)
        .map_err(|e| ParseError(format!("bad {key} {text:?}: {e}")))
}

fn need<T>(value: Option<T>, key: &str) -> Result<T, ParseError> {
    value.ok_or_else(|| ParseError(format!("missing key \"{key}\"")))
}

/// Reads one line back into an event. Strings are cleaned again: a file
/// may have been written by anything.
pub fn parse_line(line: &str) -> Result<TraceEvent, ParseError> {
    let l: LineIn = serde_json::from_str(line).map_err(|e| ParseError(e.to_string()))?;
    let at = time(&l.time, "time")?;
    if l.event == "lost" {
        let drops = Drops {
            exec_ringbuf: l.exec_ringbuf,
            exit_ringbuf: l.exit_ringbuf,
            pid_map_full: l.pid_map_full,
            exec_failed_ringbuf: l.exec_failed_ringbuf,
            undecodable: l.undecodable,
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
    let history = l
        .history
        .iter()
        .take(MAX_HISTORY)
        .map(step_from)
        .collect::<Result<Vec<_>, _>>()?;
    let process = |start: WallTime, exec_time: WallTime| -> Result<ProcessInfo, ParseError> {
        Ok(ProcessInfo {
            pid: need(l.pid, "pid")?,
            ppid: need(l.ppid, "ppid")?,
            uid: need(l.uid, "uid")?,
            comm: sanitize::visible(&need(l.comm.clone(), "comm")?),
            filename: sanitize::visible(&need(l.filename.clone(), "filename")?),
            argv: need(l.argv.clone(), "argv")?
                .iter()
                .map(|a| sanitize::visible(a))
                .collect(),
            argv_truncated: l.argv_truncated,
            filename_truncated: l.filename_truncated,
            cgroup_id: l.cgroup_id,
            start,
            start_boot_ns: 0,
            exec_time,
            origin: origin_from(l.origin.as_deref()),
            history: history.clone(),
            history_dropped: l.history_dropped,
            not_kept: l.not_kept,
        })
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
    match l.event.as_str() {
        "exec" => Ok(TraceEvent::Exec(process(start.unwrap_or(at), at)?)),
        "exec_failed" => {
            let p = process(start.unwrap_or(at), at)?;
            let errno = need(l.errno, "errno")?;
            Ok(TraceEvent::ExecFailed(FailedExec::from_attempt(p, errno)))
        }
        "exit" => {
            let duration_ns = need(l.duration_ns, "duration_ns")?;
            let start = start.unwrap_or(WallTime(at.0.saturating_sub(duration_ns)));
            let status = match l.status {
                Some(raw) => ExitStatus(raw),
                None => match (l.exit_code, l.signal) {
                    (Some(code), _) => ExitStatus(((code as u32) & 0xff) << 8),
                    (None, Some(sig)) => {
                        ExitStatus((sig & 0x7f) | if l.core_dumped { 0x80 } else { 0 })
                    }
                    (None, None) => {
                        return Err(ParseError("exit has neither exit_code nor signal".into()))
                    }
                },
            };
            let process = process(start, exec_time.unwrap_or(start))?;
            let exit_comm = l
                .exit_comm
                .as_deref()
                .map(sanitize::visible)
                .unwrap_or_else(|| process.comm.clone());
            Ok(TraceEvent::Exit(ExitInfo {
                process,
                exit_comm,
                end: at,
                duration_ns,
                status,
            }))
        }
        other => Err(ParseError(format!(
            "unknown event {:?}",
            sanitize::visible(other)
        ))),
    }
}

fn origin_name(origin: Origin) -> &'static str {
    match origin {
        Origin::Exec => "exec",
        Origin::Proc => "proc",
        Origin::ExitOnly => "exit",
        Origin::Forked => "fork",
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

    fn process() -> ProcessInfo {
        ProcessInfo {
            pid: 42,
            ppid: 1,
            uid: 1000,
            comm: "echo".into(),
            filename: "/bin/echo".into(),
            argv: vec!["/bin/echo".into(), "a".into(), "b c".into()],
            argv_truncated: false,
            filename_truncated: true,
            cgroup_id: 7,
            start: WallTime(1_700_000_000_000_000_001),
            start_boot_ns: 0,
            exec_time: WallTime(1_700_000_000_000_000_001),
            origin: Origin::Exec,
            history: Vec::new(),
            history_dropped: 0,
            not_kept: true,
        }
    }

    #[test]
    fn exec_line_has_the_documented_keys() {
        let line = to_line(&TraceEvent::Exec(process()));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["event"], "exec");
        assert_eq!(v["time"], "2023-11-14T22:13:20.000000001Z");
        assert_eq!(v["argv"], serde_json::json!(["/bin/echo", "a", "b c"]));
        for key in ["pid", "ppid", "uid", "comm", "filename"] {
            assert!(v.get(key).is_some(), "{key}");
        }
        assert!(v.get("exit_code").is_none());
    }

    #[test]
    fn exit_line_has_status_keys() {
        let exit = ExitInfo {
            process: process(),
            exit_comm: "echo".into(),
            end: WallTime(1_700_000_000_200_000_001),
            duration_ns: 200_000_000,
            status: ExitStatus(9),
        };
        let v: serde_json::Value = serde_json::from_str(&to_line(&TraceEvent::Exit(exit))).unwrap();
        assert_eq!(v["event"], "exit");
        assert_eq!(v["exit_code"], serde_json::Value::Null);
        assert_eq!(v["signal"], 9);
        assert_eq!(v["signal_name"], "SIGKILL");
        assert_eq!(v["core_dumped"], false);
        assert_eq!(v["duration_ns"], 200_000_000);
    }

    #[test]
    fn round_trips() {
        let events = [
            TraceEvent::Exec(process()),
            TraceEvent::Exit(ExitInfo {
                process: process(),
                exit_comm: "renamed".into(),
                end: WallTime(1_700_000_001_000_000_000),
                duration_ns: 999_999_999,
                status: ExitStatus(0x80 | 11),
            }),
            TraceEvent::Lost {
                time: WallTime(1_700_000_002_000_000_000),
                drops: Drops {
                    exec_ringbuf: 3,
                    exit_ringbuf: 4,
                    pid_map_full: 5,
                    ..Default::default()
                },
            },
        ];
        for e in events {
            assert_eq!(parse_line(&to_line(&e)).unwrap(), e);
        }
    }

    #[test]
    fn parses_a_minimal_hand_written_exit() {
        let line = r#"{"event":"exit","time":"2024-01-01T00:00:01Z","pid":5,"ppid":1,"uid":0,"comm":"x","filename":"/x","argv":[],"duration_ns":1000000000,"exit_code":2,"signal":null,"core_dumped":false}"#;
        let TraceEvent::Exit(e) = parse_line(line).unwrap() else {
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
}
