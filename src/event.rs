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

/// The most steps a process's history keeps: the first, and the latest.
pub const MAX_HISTORY: usize = 32;
/// The most paths one folded run of failed execs keeps.
pub const MAX_TRIED: usize = 16;

/// One exec of a process: an image it ran, or a run of failed attempts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecStep {
    pub time: WallTime,
    /// the process's name after this exec (before it, for a failure)
    pub comm: String,
    pub filename: String,
    pub argv: Vec<String>,
    pub argv_truncated: bool,
    /// the error of a failed attempt; None for an image that ran
    pub errno: Option<i32>,
    /// a folded run of failures: the filenames tried before `filename`
    pub tried: Vec<String>,
    /// how many failed attempts this step stands for (0 for an image)
    pub attempts: u32,
}

impl ExecStep {
    pub fn failed(&self) -> bool {
        self.errno.is_some()
    }

    /// "ENOENT nosuchcmd": the error and what could not be run.
    pub fn failure_label(&self) -> Option<String> {
        let errno = self.errno?;
        let what = if self.argv.iter().any(|a| !a.is_empty()) {
            self.argv.join(" ")
        } else {
            self.filename.clone()
        };
        Some(format!("{} {what}", crate::errno::name(errno)))
    }
}

/// An exec that failed: the program could not be run, and the process goes
/// on as it was.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FailedExec {
    pub pid: u32,
    pub ppid: u32,
    pub uid: u32,
    /// the process's name (unchanged by the failed attempt)
    pub comm: String,
    pub filename: String,
    pub argv: Vec<String>,
    pub argv_truncated: bool,
    pub errno: i32,
    pub time: WallTime,
    /// the process's start, to tell which process tried
    pub start: WallTime,
    pub start_boot_ns: u64,
}

impl FailedExec {
    /// The attempt described by an exec record: the process that tried,
    /// with the filename and argv it passed, at `exec_time`.
    pub fn from_attempt(p: ProcessInfo, errno: i32) -> Self {
        Self {
            pid: p.pid,
            ppid: p.ppid,
            uid: p.uid,
            comm: p.comm,
            filename: p.filename,
            argv: p.argv,
            argv_truncated: p.argv_truncated,
            errno,
            time: p.exec_time,
            start: p.start,
            start_boot_ns: p.start_boot_ns,
        }
    }

    fn step(&self) -> ExecStep {
        ExecStep {
            time: self.time,
            comm: self.comm.clone(),
            filename: self.filename.clone(),
            argv: self.argv.clone(),
            argv_truncated: self.argv_truncated,
            errno: Some(self.errno),
            tried: Vec::new(),
            attempts: 1,
        }
    }
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
    /// The current image as a history step.
    fn step(&self) -> ExecStep {
        ExecStep {
            time: self.exec_time,
            comm: self.comm.clone(),
            filename: self.filename.clone(),
            argv: self.argv.clone(),
            argv_truncated: self.argv_truncated,
            errno: None,
            tried: Vec::new(),
            attempts: 0,
        }
    }

    fn push_step(&mut self, step: ExecStep) {
        if self.history.len() >= MAX_HISTORY {
            // keep how the process began; drop the oldest after that
            self.history.remove(1.min(self.history.len() - 1));
            self.history_dropped = self.history_dropped.saturating_add(1);
        }
        self.history.push(step);
    }

    /// The same process after a new exec: `next` is its new image, and
    /// this one's image and history become `next`'s history.
    pub fn reexec(mut self, mut next: ProcessInfo) -> ProcessInfo {
        // a forked child's image is its parent's, not an exec of its own
        if matches!(self.origin, Origin::Exec | Origin::Proc) {
            let step = self.step();
            // failed attempts made while this image ran come after it
            match self.history.pop() {
                Some(run) if run.failed() && run.time >= self.exec_time => {
                    self.push_step(step);
                    self.push_step(run);
                }
                last => {
                    self.history.extend(last);
                    self.push_step(step);
                }
            }
        }
        for step in std::mem::take(&mut next.history) {
            self.push_step(step);
        }
        next.history = self.history;
        next.history_dropped = self.history_dropped;
        // the kernel's start is exact; one read from /proc is not
        if next.start_boot_ns == 0 {
            next.start = self.start;
            next.start_boot_ns = self.start_boot_ns;
        }
        next
    }

    /// Adds an image this process ran before its current one, that was
    /// learnt of late (a snapshot saw the newer image before its event).
    pub fn add_earlier(&mut self, earlier: &ProcessInfo) {
        let step = earlier.step();
        let at = self.history.partition_point(|s| s.time <= step.time);
        if self
            .history
            .get(at.wrapping_sub(1))
            .is_some_and(|s| *s == step)
        {
            return;
        }
        self.history.insert(at, step);
        if self.history.len() > MAX_HISTORY {
            self.history.remove(1);
            self.history_dropped = self.history_dropped.saturating_add(1);
        }
    }

    /// Adds a failed exec; a run of failures in a row (a shell trying each
    /// $PATH entry) folds into one step that keeps the last error.
    pub fn add_failure(&mut self, failure: &FailedExec) {
        if let Some(last) = self.history.last_mut() {
            if last.failed() && last.time >= self.exec_time {
                if last.tried.len() < MAX_TRIED {
                    last.tried.push(std::mem::take(&mut last.filename));
                }
                let attempts = last.attempts.saturating_add(1);
                let tried = std::mem::take(&mut last.tried);
                *last = ExecStep {
                    tried,
                    attempts,
                    ..failure.step()
                };
                return;
            }
        }
        self.push_step(failure.step());
    }

    /// The failed attempts after the current image, when the process's last
    /// exec attempt failed: what it could not run.
    pub fn last_failure(&self) -> Option<&ExecStep> {
        self.history
            .last()
            .filter(|s| s.failed() && s.time >= self.exec_time)
    }

    /// Every command line this process ran or tried, for search.
    pub fn command_lines(&self) -> impl Iterator<Item = String> + '_ {
        std::iter::once(self.command_line()).chain(self.history.iter().map(|s| {
            if s.argv.iter().any(|a| !a.is_empty()) {
                s.argv.join(" ")
            } else {
                s.filename.clone()
            }
        }))
    }

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
    /// ring-buffer records user space could not decode
    pub undecodable: u64,
}

impl Drops {
    /// The sum, stopping at u64::MAX: counters read from a file can be
    /// anything, and a sum that wrapped would show a small number.
    pub fn total(&self) -> u64 {
        [
            self.exit_ringbuf,
            self.pid_map_full,
            self.exec_failed_ringbuf,
            self.undecodable,
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
            undecodable: self.undecodable.saturating_sub(earlier.undecodable),
        }
    }
}

/// One trace event, from the kernel or a replay file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceEvent {
    /// A process exec'd: its new image, with its earlier ones in `history`.
    Exec(ProcessInfo),
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
    /// The kernel dropped events: totals so far, at this time.
    Lost {
        time: WallTime,
        drops: Drops,
    },
}

impl TraceEvent {
    pub fn time(&self) -> WallTime {
        match self {
            TraceEvent::Exec(p) => p.exec_time,
            TraceEvent::ExecFailed(f) => f.time,
            TraceEvent::Exit(e) => e.end,
            TraceEvent::Lost { time, .. } | TraceEvent::Gone { time, .. } => *time,
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

    fn image(argv: &[&str], at: u64) -> ProcessInfo {
        ProcessInfo {
            pid: 7,
            comm: argv[0].into(),
            filename: format!("/bin/{}", argv[0]),
            argv: argv.iter().map(|a| a.to_string()).collect(),
            start: WallTime(1),
            start_boot_ns: 1,
            exec_time: WallTime(at),
            ..Default::default()
        }
    }

    fn failure(path: &str, errno: i32, at: u64) -> FailedExec {
        FailedExec {
            pid: 7,
            comm: "sh".into(),
            filename: path.into(),
            argv: vec!["nosuchcmd".into()],
            errno,
            time: WallTime(at),
            ..Default::default()
        }
    }

    #[test]
    fn reexec_keeps_earlier_images_in_order() {
        let env = image(&["env", "MARKER=zebra123", "true"], 10);
        let t = env.reexec(image(&["true"], 20));
        assert_eq!(t.argv, ["true"]);
        assert_eq!(t.history.len(), 1);
        assert_eq!(t.history[0].argv, ["env", "MARKER=zebra123", "true"]);
        assert_eq!(t.history[0].time, WallTime(10));
        assert!(t.command_lines().any(|c| c.contains("zebra123")));
        let u = t.reexec(image(&["date"], 30));
        let times: Vec<u64> = u.history.iter().map(|s| s.time.0).collect();
        assert_eq!(times, [10, 20]);
    }

    #[test]
    fn a_run_of_failures_folds_into_one_step() {
        let mut sh = image(&["sh", "-c", "nosuchcmd"], 10);
        sh.add_failure(&failure("/usr/local/bin/nosuchcmd", 2, 11));
        sh.add_failure(&failure("/usr/bin/nosuchcmd", 13, 12));
        sh.add_failure(&failure("/bin/nosuchcmd", 2, 13));
        assert_eq!(sh.history.len(), 1);
        let f = sh.last_failure().unwrap();
        assert_eq!(f.filename, "/bin/nosuchcmd");
        assert_eq!(f.tried, ["/usr/local/bin/nosuchcmd", "/usr/bin/nosuchcmd"]);
        assert_eq!(f.attempts, 3);
        assert_eq!(f.failure_label().unwrap(), "ENOENT nosuchcmd");
        // a later successful exec ends the run: it is history, not the outcome
        let ls = sh.reexec(image(&["ls"], 20));
        assert!(ls.last_failure().is_none());
        let order: Vec<(u64, bool)> = ls.history.iter().map(|s| (s.time.0, s.failed())).collect();
        assert_eq!(
            order,
            [(10, false), (13, true)],
            "the image, then what it tried"
        );
    }

    #[test]
    fn history_is_bounded_and_keeps_the_first_step() {
        let mut p = image(&["loop", "0"], 0);
        for i in 1..100u64 {
            p = p.reexec(image(&["loop", &i.to_string()], i));
        }
        assert_eq!(p.history.len(), MAX_HISTORY);
        assert_eq!(p.history[0].argv, ["loop", "0"]);
        assert_eq!(p.history.last().unwrap().argv, ["loop", "98"]);
        assert_eq!(p.history_dropped as usize, 99 - MAX_HISTORY);
        let mut sh = image(&["sh"], 0);
        for i in 0..100 {
            sh.add_failure(&failure(&format!("/p{i}/x"), 2, 1 + i));
        }
        assert_eq!(sh.history.len(), 1);
        assert_eq!(sh.history[0].tried.len(), MAX_TRIED);
        assert_eq!(sh.history[0].attempts, 100);
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
