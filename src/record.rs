//! The NDJSON record format: `--json` writes it, `--record` saves it and
//! `--replay` reads it back. One object per line; see the README for keys.

mod caps;
mod parse;

use serde::Serialize;

use crate::event::{ExecStep, Origin, ProcessInfo, TraceEvent, Usage};

pub use parse::{parse_line, ParseError};

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

#[derive(Serialize)]
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
    /// omitted, not zero, when unknown
    #[serde(flatten)]
    usage: Option<UsageOut>,
}

/// An exit's resource use, as integer keys of the exit line.
#[derive(Serialize)]
struct UsageOut {
    cpu_user_ns: u64,
    cpu_system_ns: u64,
    max_rss_kib: u64,
    minor_faults: u64,
    major_faults: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    read_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    write_bytes: Option<u64>,
    voluntary_switches: u64,
    involuntary_switches: u64,
}

impl From<&Usage> for UsageOut {
    fn from(u: &Usage) -> Self {
        Self {
            cpu_user_ns: u.cpu_user_ns,
            cpu_system_ns: u.cpu_system_ns,
            max_rss_kib: u.max_rss_kib,
            minor_faults: u.minor_faults,
            major_faults: u.major_faults,
            read_bytes: u.read_bytes,
            write_bytes: u.write_bytes,
            voluntary_switches: u.voluntary_switches,
            involuntary_switches: u.involuntary_switches,
        }
    }
}

#[derive(Serialize)]
struct LostOut {
    event: String,
    time: String,
    exec_ringbuf: u64,
    exit_ringbuf: u64,
    pid_map_full: u64,
    #[serde(default)]
    exec_failed_ringbuf: u64,
    #[serde(default)]
    fork_ringbuf: u64,
    #[serde(default)]
    undecodable: u64,
    #[serde(default)]
    traced_full: u64,
}

/// Whether an event has a line: forks and reparentings keep the live table
/// right between snapshots, and a recording's live set comes from its execs.
pub fn recorded(event: &TraceEvent) -> bool {
    !matches!(event, TraceEvent::Fork(_) | TraceEvent::Reparent { .. })
}

/// One event as a JSON line (without the newline); empty for an event
/// that is not `recorded`.
pub fn to_line(event: &TraceEvent) -> String {
    let json = match event {
        TraceEvent::Fork(_) | TraceEvent::Reparent { .. } => return String::new(),
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
            usage: e.usage.as_ref().map(UsageOut::from),
        }),
        TraceEvent::Lost { time, drops } => serde_json::to_string(&LostOut {
            event: "lost".into(),
            time: time.rfc3339(),
            exec_ringbuf: drops.exec_ringbuf,
            exit_ringbuf: drops.exit_ringbuf,
            pid_map_full: drops.pid_map_full,
            exec_failed_ringbuf: drops.exec_failed_ringbuf,
            fork_ringbuf: drops.fork_ringbuf,
            undecodable: drops.undecodable,
            traced_full: drops.traced_full,
        }),
    };
    // these types hold only strings and numbers: serialising cannot fail
    json.unwrap_or_default()
}

fn origin_name(origin: Origin) -> &'static str {
    match origin {
        Origin::Exec => "exec",
        Origin::Proc => "proc",
        Origin::ExitOnly => "exit",
        Origin::Forked => "fork",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Drops, ExitInfo, ExitStatus, WallTime};

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
            usage: None,
        };
        let v: serde_json::Value = serde_json::from_str(&to_line(&TraceEvent::Exit(exit))).unwrap();
        assert_eq!(v["event"], "exit");
        assert_eq!(v["exit_code"], serde_json::Value::Null);
        assert_eq!(v["signal"], 9);
        assert_eq!(v["signal_name"], "SIGKILL");
        assert_eq!(v["core_dumped"], false);
        assert_eq!(v["duration_ns"], 200_000_000);
    }

    fn usage() -> Usage {
        Usage {
            cpu_user_ns: 200_000_001,
            cpu_system_ns: 100_000_002,
            max_rss_kib: 204_800,
            minor_faults: 51_234,
            major_faults: 3,
            read_bytes: Some(4096),
            write_bytes: Some(20 << 20),
            voluntary_switches: 17,
            involuntary_switches: u64::MAX,
        }
    }

    const USAGE_KEYS: [&str; 9] = [
        "cpu_user_ns",
        "cpu_system_ns",
        "max_rss_kib",
        "minor_faults",
        "major_faults",
        "read_bytes",
        "write_bytes",
        "voluntary_switches",
        "involuntary_switches",
    ];

    #[test]
    fn exit_line_has_usage_keys_only_when_known() {
        let mut exit = ExitInfo {
            process: process(),
            exit_comm: "echo".into(),
            end: WallTime(1_700_000_000_200_000_001),
            duration_ns: 200_000_000,
            status: ExitStatus(0),
            usage: Some(usage()),
        };
        let v: serde_json::Value =
            serde_json::from_str(&to_line(&TraceEvent::Exit(exit.clone()))).unwrap();
        for key in USAGE_KEYS {
            assert!(v[key].is_u64(), "{key}: {}", v[key]);
        }
        assert_eq!(v["cpu_user_ns"], 200_000_001);
        assert_eq!(v["write_bytes"], 20 << 20);
        assert_eq!(v["involuntary_switches"], u64::MAX);
        exit.usage = None;
        let v: serde_json::Value = serde_json::from_str(&to_line(&TraceEvent::Exit(exit))).unwrap();
        for key in USAGE_KEYS {
            assert!(v.get(key).is_none(), "{key} written when unknown");
        }
    }

    #[test]
    fn an_old_exit_line_without_usage_reads_as_unknown() {
        let line = r#"{"event":"exit","time":"2024-01-01T00:00:01Z","pid":5,"ppid":1,"uid":0,"comm":"x","filename":"/x","argv":[],"duration_ns":1000000000,"exit_code":0,"signal":null,"core_dumped":false,"status":0}"#;
        let TraceEvent::Exit(e) = parse_line(line).unwrap() else {
            panic!()
        };
        assert_eq!(e.usage, None);
        // and a line with usage but no I/O figures (a kernel without them)
        let line = line.replace(
            r#""status":0"#,
            r#""status":0,"cpu_user_ns":5,"cpu_system_ns":6,"max_rss_kib":7,"minor_faults":8,"major_faults":9,"voluntary_switches":10,"involuntary_switches":11"#,
        );
        let TraceEvent::Exit(e) = parse_line(&line).unwrap() else {
            panic!()
        };
        let u = e.usage.unwrap();
        assert_eq!((u.cpu_user_ns, u.cpu_system_ns, u.max_rss_kib), (5, 6, 7));
        assert_eq!((u.minor_faults, u.major_faults), (8, 9));
        assert_eq!((u.voluntary_switches, u.involuntary_switches), (10, 11));
        assert_eq!((u.read_bytes, u.write_bytes), (None, None));
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
                usage: None,
            }),
            TraceEvent::Exit(ExitInfo {
                process: process(),
                exit_comm: "echo".into(),
                end: WallTime(1_700_000_001_000_000_000),
                duration_ns: 999_999_999,
                status: ExitStatus(0),
                usage: Some(usage()),
            }),
            TraceEvent::Lost {
                time: WallTime(1_700_000_002_000_000_000),
                drops: Drops {
                    exec_ringbuf: 3,
                    exit_ringbuf: 4,
                    pid_map_full: 5,
                    traced_full: 6,
                    ..Default::default()
                },
            },
        ];
        for e in events {
            assert_eq!(parse_line(&to_line(&e)).unwrap(), e);
        }
    }
}
