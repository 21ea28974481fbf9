//! The domain events every source produces and every sink consumes.
//!
//! Strings here are already sanitised (see `sanitize`): the kernel decoder,
//! the /proc reader and the replay reader all build these types only from
//! cleaned text.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

mod commands;
mod history;
mod kernel;
pub use commands::{
    duration_bucket, outcome_slot, CommandTotals, DURATION_BOUNDS_NS, DURATION_BUCKETS,
    OUTCOME_CORE, OUTCOME_LABELS, OUTCOME_SLOTS,
};
pub use history::{ExecStep, FailedExec, MAX_HISTORY, MAX_TRIED};
pub use kernel::{KernelEvent, RawEnded, RawExit, RawFork};

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
    /// When the process began (its fork). A process keeps its start across
    /// execs, so this and the pid tell one process from a later one.
    pub start: WallTime,
    /// The kernel's CLOCK_BOOTTIME start, used to join exits with their exec
    /// and for nothing else (0 when unknown, e.g. from a replay file).
    pub start_boot_ns: u64,
    /// When the current image was exec'd (the start, when none was seen).
    pub exec_time: WallTime,
    /// where the record came from
    pub origin: Origin,
    /// Earlier images of this process and failed exec attempts, oldest
    /// first; the current image is the fields above.
    pub history: Vec<ExecStep>,
    /// Steps left out of `history` to keep it bounded.
    pub history_dropped: u32,
    /// The kernel's pid map was full when it exec'd: its record is kept only
    /// in user space (from its exec event), not in the map.
    pub not_kept: bool,
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
    /// forked since tracing began and has not exec'd (seen at fork, or
    /// trying to exec): its command line is the parent's, as ps shows it
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
    /// The name of the thread that ended the process: a worker thread's
    /// name, or a name set after exec. The process's name is `process.comm`.
    pub exit_comm: String,
    pub end: WallTime,
    pub duration_ns: u64,
    pub status: ExitStatus,
    /// What the process used; None when unknown (a recording made before
    /// the kernel reported it).
    pub usage: Option<Usage>,
}

/// A process's resource use over its whole life (all its threads, not its
/// children), as wait4(2)'s rusage reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub cpu_user_ns: u64,
    pub cpu_system_ns: u64,
    /// peak resident set size
    pub max_rss_kib: u64,
    pub minor_faults: u64,
    pub major_faults: u64,
    /// bytes fetched from and sent to storage; None when the kernel does
    /// not account them
    pub read_bytes: Option<u64>,
    pub write_bytes: Option<u64>,
    pub voluntary_switches: u64,
    pub involuntary_switches: u64,
}

impl Usage {
    pub fn cpu_ns(&self) -> u64 {
        self.cpu_user_ns.saturating_add(self.cpu_system_ns)
    }
}

/// Splits the precise CPU time `runtime` into (user, system) in the
/// proportion of the tick-sampled `utime`:`stime`, as the kernel's
/// cputime_adjust does for rusage (ticks alone are 4 ms coarse).
pub fn split_cpu(runtime: u64, utime: u64, stime: u64) -> (u64, u64) {
    if stime == 0 {
        return (runtime, 0);
    }
    if utime == 0 {
        return (0, runtime);
    }
    let total = u128::from(utime) + u128::from(stime);
    let system = (u128::from(runtime) * u128::from(stime) / total) as u64;
    (runtime - system, system)
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
    /// failed-exec events lost because the ring buffer was full
    pub exec_failed_ringbuf: u64,
    /// fork events lost because the ring buffer was full
    pub fork_ringbuf: u64,
    /// ring-buffer records user space could not decode
    pub undecodable: u64,
    /// children of traced processes not followed because the traced set
    /// was full (scoped tracing only)
    pub traced_full: u64,
}

impl Drops {
    /// The sum, stopping at u64::MAX: counters read from a file can be
    /// anything, and a sum that wrapped would show a small number.
    pub fn total(&self) -> u64 {
        [
            self.exit_ringbuf,
            self.pid_map_full,
            self.exec_failed_ringbuf,
            self.fork_ringbuf,
            self.undecodable,
            self.traced_full,
        ]
        .into_iter()
        .fold(self.exec_ringbuf, u64::saturating_add)
    }

    /// Counts that grew since `earlier`.
    pub fn since(&self, earlier: &Drops) -> Drops {
        Drops {
            exec_ringbuf: self.exec_ringbuf.saturating_sub(earlier.exec_ringbuf),
            exit_ringbuf: self.exit_ringbuf.saturating_sub(earlier.exit_ringbuf),
            pid_map_full: self.pid_map_full.saturating_sub(earlier.pid_map_full),
            exec_failed_ringbuf: self
                .exec_failed_ringbuf
                .saturating_sub(earlier.exec_failed_ringbuf),
            fork_ringbuf: self.fork_ringbuf.saturating_sub(earlier.fork_ringbuf),
            undecodable: self.undecodable.saturating_sub(earlier.undecodable),
            traced_full: self.traced_full.saturating_sub(earlier.traced_full),
        }
    }
}

/// One trace event, from the kernel or a replay file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceEvent {
    /// A process exec'd: its new image, with its earlier ones in `history`.
    Exec(ProcessInfo),
    /// A new process, running its parent's image (origin Forked) since
    /// `start`. Not recorded: a recording's live set comes from execs.
    Fork(ProcessInfo),
    /// An exec failed; the process goes on running what it ran.
    ExecFailed(FailedExec),
    Exit(ExitInfo),
    /// Processes that ended without a reported exit (filtered by the min
    /// duration, or lost), as (pid, start): a recording needs them to
    /// replay to the same live set.
    Gone {
        time: WallTime,
        processes: Vec<(u32, WallTime)>,
    },
    /// `parent` ended: its live children have `reaper` as their parent
    /// now (init or a subreaper). Not recorded.
    Reparent {
        time: WallTime,
        parent: u32,
        reaper: u32,
    },
    /// The kernel dropped events: totals so far, at this time.
    Lost {
        time: WallTime,
        drops: Drops,
    },
}

impl TraceEvent {
    pub fn time(&self) -> WallTime {
        match self {
            TraceEvent::Exec(p) | TraceEvent::Fork(p) => p.exec_time,
            TraceEvent::ExecFailed(f) => f.time,
            TraceEvent::Exit(e) => e.end,
            TraceEvent::Lost { time, .. }
            | TraceEvent::Gone { time, .. }
            | TraceEvent::Reparent { time, .. } => *time,
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
    fn splits_cpu_in_the_ticks_proportion() {
        assert_eq!(split_cpu(300, 2, 1), (200, 100));
        assert_eq!(split_cpu(300, 0, 0), (300, 0));
        assert_eq!(split_cpu(300, 0, 5), (0, 300));
        // no overflow with large figures
        assert_eq!(
            split_cpu(u64::MAX, 1, 1),
            (u64::MAX - u64::MAX / 2, u64::MAX / 2)
        );
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
            ..Default::default()
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
