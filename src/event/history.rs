//! A process's exec history: the images it ran before its current one, and
//! its failed exec attempts, folded and bounded.

use super::{Origin, ProcessInfo, WallTime};

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
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
