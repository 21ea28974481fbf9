//! The domain events every source produces and every sink consumes.
//!
//! Strings here are already sanitised (see `sanitize`): the kernel decoder,
//! the /proc reader and the replay reader all build these types only from
//! cleaned text.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Wall-clock time as nanoseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WallTime(pub u64);

impl WallTime {
    pub fn to_system_time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.0)
    }

    pub fn from_system_time(t: SystemTime) -> Self {
        let ns = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos();
        Self(u64::try_from(ns).unwrap_or(u64::MAX))
    }

    /// RFC 3339 in UTC with nanoseconds.
    pub fn rfc3339(self) -> String {
        humantime::format_rfc3339_nanos(self.to_system_time()).to_string()
    }
}

/// What a process is: the record made when it exec'd (or read from /proc).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcessInfo {
    pub pid: u32,
    pub ppid: u32,
    pub uid: u32,
    pub comm: String,
    pub filename: String,
    pub argv: Vec<String>,
    /// argv was longer than the kernel keeps; the last argument may be cut
    pub argv_truncated: bool,
    /// the path filled the kernel's 256-byte buffer and may have been cut
    pub filename_truncated: bool,
    pub cgroup_id: u64,
    /// exec time (or the process's start, for processes seen in /proc)
    pub start: WallTime,
    /// The kernel's CLOCK_BOOTTIME start, used to join exits with their exec
    /// and for nothing else (0 when unknown, e.g. from a replay file).
    pub start_boot_ns: u64,
    /// where the record came from
    pub origin: Origin,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Origin {
    /// seen exec'ing by the kernel program
    #[default]
    Exec,
    /// running before tracing started, read from /proc
    Proc,
    /// only the exit was seen: no exec record was known (forked without
    /// exec, or started before tracing and not in /proc)
    ExitOnly,
    /// forked since tracing began and has not exec'd: read from /proc (its
    /// command line is the parent's, as ps shows it)
    Forked,
}

impl ProcessInfo {
    /// The command line to show: argv, or the filename when argv is empty,
    /// or `[comm]` when neither is known (as ps shows such processes).
    pub fn command_line(&self) -> String {
        if self.argv.iter().any(|a| !a.is_empty()) {
            self.argv.join(" ")
        } else if !self.filename.is_empty() {
            self.filename.clone()
        } else {
            format!("[{}]", self.comm)
        }
    }
}

/// A wait(2)-style exit status, as the kernel keeps it in task->exit_code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExitStatus(pub u32);

impl ExitStatus {
    /// The exit code, when the process exited rather than being killed.
    pub fn code(self) -> Option<i32> {
        (self.0 & 0x7f == 0).then_some(((self.0 >> 8) & 0xff) as i32)
    }

    /// The terminating signal, when there was one.
    pub fn signal(self) -> Option<u32> {
        let sig = self.0 & 0x7f;
        (sig != 0).then_some(sig)
    }

    pub fn core_dumped(self) -> bool {
        self.signal().is_some() && self.0 & 0x80 != 0
    }

    /// Did the process fail: a non-zero code or a signal.
    pub fn failed(self) -> bool {
        self.code() != Some(0)
    }

    /// "0", "3", "SIGKILL", "SIGSEGV core".
    pub fn label(self) -> String {
        match (self.code(), self.signal()) {
            (Some(code), _) => code.to_string(),
            (None, Some(sig)) if self.core_dumped() => {
                format!("{} core", crate::signals::label(sig))
            }
            (None, Some(sig)) => crate::signals::label(sig),
            (None, None) => self.0.to_string(),
        }
    }
}

/// A process that has ended, joined with what was known of it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExitInfo {
    pub process: ProcessInfo,
    /// the name at exit (a process may change it after exec)
    pub exit_comm: String,
    pub end: WallTime,
    pub duration_ns: u64,
    pub status: ExitStatus,
}

/// Counts of what the kernel could not deliver, as totals since start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Drops {
    /// exec events lost because the ring buffer was full
    pub exec_ringbuf: u64,
    /// exit events lost because the ring buffer was full
    pub exit_ringbuf: u64,
    /// exec records not stored because the pid map was full
    pub pid_map_full: u64,
    /// ring-buffer records user space could not decode
    pub undecodable: u64,
}

impl Drops {
    pub fn total(&self) -> u64 {
        self.exec_ringbuf + self.exit_ringbuf + self.pid_map_full + self.undecodable
    }

    /// Counts that grew since `earlier`.
    pub fn since(&self, earlier: &Drops) -> Drops {
        Drops {
            exec_ringbuf: self.exec_ringbuf.saturating_sub(earlier.exec_ringbuf),
            exit_ringbuf: self.exit_ringbuf.saturating_sub(earlier.exit_ringbuf),
            pid_map_full: self.pid_map_full.saturating_sub(earlier.pid_map_full),
            undecodable: self.undecodable.saturating_sub(earlier.undecodable),
        }
    }
}

/// One trace event, from the kernel or a replay file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceEvent {
    Exec(ProcessInfo),
    Exit(ExitInfo),
    /// The kernel dropped events: totals so far, at this time.
    Lost {
        time: WallTime,
        drops: Drops,
    },
}

impl TraceEvent {
    pub fn time(&self) -> WallTime {
        match self {
            TraceEvent::Exec(p) => p.start,
            TraceEvent::Exit(e) => e.end,
            TraceEvent::Lost { time, .. } => *time,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_exit_codes() {
        let s = ExitStatus(3 << 8);
        assert_eq!(
            (s.code(), s.signal(), s.core_dumped()),
            (Some(3), None, false)
        );
        assert_eq!(s.label(), "3");
        assert!(s.failed());
        assert!(!ExitStatus(0).failed());
        assert_eq!(ExitStatus(768).code(), Some(3));
    }

    #[test]
    fn decodes_signals_and_core() {
        let killed = ExitStatus(9);
        assert_eq!((killed.code(), killed.signal()), (None, Some(9)));
        assert!(!killed.core_dumped());
        assert_eq!(killed.label(), "SIGKILL");
        let segv = ExitStatus(0x80 | 11);
        assert_eq!(
            (segv.code(), segv.signal(), segv.core_dumped()),
            (None, Some(11), true)
        );
        assert_eq!(segv.label(), "SIGSEGV core");
    }

    #[test]
    fn command_line_falls_back_to_filename() {
        let mut p = ProcessInfo {
            comm: "sh".into(),
            ..Default::default()
        };
        assert_eq!(p.command_line(), "[sh]");
        p = ProcessInfo {
            filename: "/bin/true".into(),
            ..Default::default()
        };
        assert_eq!(p.command_line(), "/bin/true");
        // execve with an empty argv: the kernel supplies one empty argument
        p.argv = vec![String::new()];
        assert_eq!(p.command_line(), "/bin/true");
        p.argv = vec!["true".into(), "x y".into()];
        assert_eq!(p.command_line(), "true x y");
    }

    #[test]
    fn formats_rfc3339_nanos() {
        assert_eq!(
            WallTime(1_500_000_000_123_456_789).rfc3339(),
            "2017-07-14T02:40:00.123456789Z"
        );
    }

    #[test]
    fn drops_since() {
        let a = Drops {
            exec_ringbuf: 1,
            exit_ringbuf: 2,
            ..Default::default()
        };
        let b = Drops {
            exec_ringbuf: 4,
            exit_ringbuf: 2,
            pid_map_full: 1,
            undecodable: 0,
        };
        assert_eq!(
            b.since(&a),
            Drops {
                exec_ringbuf: 3,
                pid_map_full: 1,
                ..Default::default()
            }
        );
        assert_eq!(b.total(), 7);
    }
}
