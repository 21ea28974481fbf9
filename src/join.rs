//! Joins each exit the kernel reports with the exec record of its process.
//!
//! The kernel's exit event is small (the exec record stays in user space);
//! this keeps the records from exec events and pid-map snapshots, so that
//! every exit is shown with its filename, argv, uid and exec time.

use std::collections::HashMap;

use crate::clock::BootClock;
use crate::event::{ExitInfo, FailedExec, Origin, ProcessInfo, RawExit, WallTime};

/// Slack when matching a record from /proc (clock-tick precision) to a
/// task's start time.
const PROC_START_SLACK_NS: u64 = 20_000_000;

#[derive(Debug, Default)]
pub struct Joiner {
    current: HashMap<u32, ProcessInfo>,
    /// Records the last snapshot no longer had. Kept one more round, for
    /// exits that were in flight while the snapshot was taken.
    previous: HashMap<u32, ProcessInfo>,
}

impl Joiner {
    /// Takes in an exec; returns the process with its earlier images, when
    /// it is a process already known that exec'd again.
    pub fn exec(&mut self, process: ProcessInfo) -> ProcessInfo {
        let pid = process.pid;
        let earlier = self
            .current
            .remove(&pid)
            .or_else(|| self.previous.remove(&pid));
        let process = match earlier {
            // the same exec seen twice (a snapshot read it before its event)
            Some(old) if same_process(&old, &process) && old.exec_time == process.exec_time => {
                ProcessInfo {
                    history: old.history,
                    history_dropped: old.history_dropped,
                    ..process
                }
            }
            // a snapshot saw a later image before this event: this is history
            Some(mut old) if same_process(&old, &process) && old.exec_time > process.exec_time => {
                old.add_earlier(&process);
                let earlier = ProcessInfo {
                    history: old
                        .history
                        .iter()
                        .filter(|s| s.time < process.exec_time)
                        .cloned()
                        .collect(),
                    ..process
                };
                self.current.insert(pid, old);
                return earlier;
            }
            Some(old) if same_process(&old, &process) => old.reexec(process),
            _ => process,
        };
        self.current.insert(pid, process.clone());
        process
    }

    /// Takes in a failed exec: it joins the history of the process that
    /// tried, which may not have exec'd yet (a shell's forked child).
    pub fn exec_failed(&mut self, failure: &FailedExec) {
        let known = self
            .current
            .get_mut(&failure.pid)
            .filter(|p| same_start(p, failure.start_boot_ns));
        match known {
            Some(p) => p.add_failure(failure),
            None => {
                let mut p = ProcessInfo {
                    pid: failure.pid,
                    ppid: failure.ppid,
                    uid: failure.uid,
                    comm: failure.comm.clone(),
                    start: failure.start,
                    start_boot_ns: failure.start_boot_ns,
                    exec_time: failure.start,
                    origin: Origin::Forked,
                    ..Default::default()
                };
                p.add_failure(failure);
                self.current.insert(failure.pid, p);
            }
        }
    }

    pub fn exit(&mut self, raw: RawExit, clock: &BootClock) -> ExitInfo {
        let process = take_matching(&mut self.current, &raw)
            .or_else(|| take_matching(&mut self.previous, &raw))
            .unwrap_or_else(|| ProcessInfo {
                pid: raw.pid,
                ppid: raw.ppid,
                uid: raw.uid,
                comm: raw.comm.clone(),
                start: clock.to_wall(raw.start_boot_ns),
                start_boot_ns: raw.start_boot_ns,
                exec_time: clock.to_wall(raw.start_boot_ns),
                origin: Origin::ExitOnly,
                ..Default::default()
            });
        ExitInfo {
            process,
            exit_comm: raw.thread_comm,
            end: clock.to_wall(raw.exit_boot_ns),
            duration_ns: raw.exit_boot_ns.saturating_sub(raw.start_boot_ns),
            status: raw.status,
            usage: Some(raw.usage),
        }
    }

    /// Makes the kernel's pid map, read at boot time `taken_at`, the truth:
    /// records it lacks that are older than it belong to processes that
    /// ended unreported (filtered by the min duration, or lost). Returns
    /// those given up on now, a round later, as (pid, start).
    pub fn replace(&mut self, snapshot: &[ProcessInfo], taken_at: u64) -> Vec<(u32, WallTime)> {
        let mut next: HashMap<u32, ProcessInfo> = HashMap::with_capacity(snapshot.len());
        for p in snapshot {
            let merged = match self.current.remove(&p.pid) {
                // /proc read a process we saw exec (between the map read and
                // the /proc read): our record is the better one; the parent
                // is the newer
                Some(old)
                    if same_process(&old, p)
                        && old.origin == Origin::Exec
                        && p.origin != Origin::Exec =>
                {
                    ProcessInfo {
                        ppid: p.ppid,
                        ..old
                    }
                }
                // the map has the newest image and parent; history is ours
                Some(old) if same_process(&old, p) && old.exec_time >= p.exec_time => ProcessInfo {
                    history: old.history,
                    history_dropped: old.history_dropped,
                    ..p.clone()
                },
                // an exec the snapshot saw before its event
                Some(old) if same_process(&old, p) => old.reexec(p.clone()),
                Some(old) => {
                    self.current.insert(old.pid, old);
                    p.clone()
                }
                None => p.clone(),
            };
            next.insert(p.pid, merged);
        }
        let mut gone = HashMap::new();
        for (pid, p) in self.current.drain() {
            if p.start_boot_ns > taken_at {
                next.insert(pid, p);
            } else if !next.contains_key(&pid) {
                gone.insert(pid, p);
            }
        }
        self.current = next;
        let given_up = std::mem::replace(&mut self.previous, gone);
        given_up.into_values().map(|p| (p.pid, p.start)).collect()
    }

    /// The processes known to be alive, with their histories.
    pub fn live(&self) -> Vec<ProcessInfo> {
        self.current.values().cloned().collect()
    }

    /// How many records are held, for tests and memory checks.
    pub fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The same process: same pid and start. A start read from /proc is only
/// as precise as a clock tick.
fn same_process(a: &ProcessInfo, b: &ProcessInfo) -> bool {
    let from_proc = |p: &ProcessInfo| matches!(p.origin, Origin::Proc | Origin::Forked);
    a.pid == b.pid
        && if from_proc(a) || from_proc(b) {
            a.start_boot_ns.abs_diff(b.start_boot_ns) <= PROC_START_SLACK_NS
        } else {
            a.start_boot_ns == b.start_boot_ns
        }
}

fn same_start(p: &ProcessInfo, start_boot_ns: u64) -> bool {
    if matches!(p.origin, Origin::Proc | Origin::Forked) {
        p.start_boot_ns.abs_diff(start_boot_ns) <= PROC_START_SLACK_NS
    } else {
        p.start_boot_ns == start_boot_ns
    }
}

fn take_matching(records: &mut HashMap<u32, ProcessInfo>, raw: &RawExit) -> Option<ProcessInfo> {
    let p = records.get(&raw.pid)?;
    let matches = if raw.had_record {
        p.start_boot_ns == raw.start_boot_ns
    } else {
        // the kernel had no record (forked without exec, or its map was
        // full): ours, from /proc or a failed exec, is close to the start
        // (saturating: a start is whatever the record's bytes said)
        same_start(p, raw.start_boot_ns)
            || p.start_boot_ns.saturating_add(PROC_START_SLACK_NS) >= raw.start_boot_ns
    };
    if matches {
        records.remove(&raw.pid)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::ExitStatus;

    fn clock() -> BootClock {
        BootClock::with_offset(1_000)
    }

    fn record(pid: u32, start: u64) -> ProcessInfo {
        ProcessInfo {
            pid,
            ppid: 1,
            uid: 1000,
            comm: "sleep".into(),
            filename: "/bin/sleep".into(),
            argv: vec!["sleep".into(), "1".into()],
            start_boot_ns: start,
            ..Default::default()
        }
    }

    fn raw(pid: u32, start: u64, end: u64, had_record: bool) -> RawExit {
        RawExit {
            pid,
            ppid: 1,
            uid: 1000,
            status: ExitStatus(3 << 8),
            start_boot_ns: start,
            exit_boot_ns: end,
            comm: "sleep".into(),
            thread_comm: "worker".into(),
            had_record,
            usage: Default::default(),
        }
    }

    #[test]
    fn joins_exit_with_exec() {
        let mut j = Joiner::default();
        j.exec(record(10, 100));
        let e = j.exit(raw(10, 100, 600, true), &clock());
        assert_eq!(e.process.filename, "/bin/sleep");
        assert_eq!(e.duration_ns, 500);
        assert_eq!(e.end.0, 1_600);
        assert!(j.is_empty());
    }

    #[test]
    fn pid_reuse_does_not_join_the_old_record() {
        let mut j = Joiner::default();
        j.exec(record(10, 100));
        let e = j.exit(raw(10, 200, 300, true), &clock());
        assert_eq!(e.process.origin, Origin::ExitOnly);
        assert_eq!(e.process.filename, "");
        assert_eq!(e.process.comm, "sleep");
        assert_eq!(e.duration_ns, 100);
    }

    #[test]
    fn lost_exec_joins_from_snapshot() {
        let mut j = Joiner::default();
        j.replace(&[record(11, 50)], 60);
        let e = j.exit(raw(11, 50, 90, true), &clock());
        assert_eq!(e.process.argv, ["sleep", "1"]);
    }

    #[test]
    fn snapshot_prunes_unreported_exits_after_one_round() {
        let mut j = Joiner::default();
        j.exec(record(1, 10)); // exit filtered in the kernel: never reported
        j.exec(record(2, 500)); // exec after the snapshot was taken
        j.replace(&[], 100);
        assert_eq!(j.len(), 2);
        // an exit in flight during the snapshot still joins
        let e = j.exit(raw(1, 10, 150, true), &clock());
        assert_eq!(e.process.origin, Origin::Exec);
        j.exec(record(3, 20));
        j.replace(&[record(2, 500)], 1_000);
        j.replace(&[record(2, 500)], 2_000);
        assert_eq!(j.len(), 1, "only the live process is kept");
    }

    #[test]
    fn reexec_builds_a_chain_that_the_exit_carries() {
        let mut j = Joiner::default();
        let mut env = record(20, 100);
        env.argv = vec!["env".into(), "MARKER=zebra123".into(), "true".into()];
        j.exec(env);
        let mut t = record(20, 100);
        t.argv = vec!["true".into()];
        t.exec_time = WallTime(5);
        let t = j.exec(t);
        assert_eq!(t.history.len(), 1);
        let e = j.exit(raw(20, 100, 900, true), &clock());
        assert_eq!(e.process.argv, ["true"]);
        assert_eq!(e.process.history[0].argv[1], "MARKER=zebra123");
        assert_eq!(
            e.process.comm, "sleep",
            "the process's name, not the thread's"
        );
        assert_eq!(e.exit_comm, "worker");
        // a new process on the same pid starts a new chain
        let other = j.exec(record(20, 2_000));
        assert!(other.history.is_empty());
    }

    #[test]
    fn a_failed_exec_joins_a_child_that_never_exec_d() {
        let mut j = Joiner::default();
        let f = FailedExec {
            pid: 30,
            comm: "sh".into(),
            filename: "/usr/bin/nosuchcmd".into(),
            argv: vec!["nosuchcmd".into()],
            errno: 2,
            start_boot_ns: 300,
            ..Default::default()
        };
        j.exec_failed(&f);
        j.exec_failed(&FailedExec {
            filename: "/bin/nosuchcmd".into(),
            ..f.clone()
        });
        let mut x = raw(30, 300, 400, false);
        x.status = ExitStatus(127 << 8);
        let e = j.exit(x, &clock());
        let failure = e.process.last_failure().expect("the failure is kept");
        assert_eq!(failure.tried, ["/usr/bin/nosuchcmd"]);
        assert_eq!(failure.failure_label().unwrap(), "ENOENT nosuchcmd");
    }

    #[test]
    fn snapshots_keep_history_and_give_up_on_the_unreported() {
        let mut j = Joiner::default();
        j.exec(record(40, 100));
        let mut again = record(40, 100);
        again.exec_time = WallTime(7);
        j.exec(again.clone());
        // the pid map holds only the newest image, with a new parent
        again.ppid = 1;
        j.replace(&[again.clone()], 1_000);
        let live = j.live();
        assert_eq!((live[0].history.len(), live[0].ppid), (1, 1));
        j.exec(record(41, 200)); // its exit was filtered: never reported
        assert!(j.replace(&[again.clone()], 2_000).is_empty());
        let gone = j.replace(&[again], 3_000);
        assert_eq!(gone, [(41, WallTime(0))]);
    }

    #[test]
    fn a_snapshot_that_saw_the_later_image_first_keeps_the_order() {
        let mut j = Joiner::default();
        let mut later = record(60, 100);
        later.argv = vec!["true".into()];
        later.exec_time = WallTime(20);
        j.replace(&[later], 1_000);
        let mut env = record(60, 100);
        env.argv = vec!["env".into()];
        env.exec_time = WallTime(10);
        let sent = j.exec(env);
        assert!(sent.history.is_empty(), "nothing came before env");
        let mut t = record(60, 100);
        t.argv = vec!["true".into()];
        t.exec_time = WallTime(20);
        let t = j.exec(t);
        let argv: Vec<&str> = t.history.iter().map(|s| s.argv[0].as_str()).collect();
        assert_eq!(argv, ["env"]);
    }

    #[test]
    fn a_chain_begun_from_a_proc_read_keeps_the_kernels_exact_start() {
        let mut j = Joiner::default();
        let mut seen = record(70, 100_000_000 - 4_000_000);
        seen.origin = Origin::Forked;
        j.replace(&[seen], 200_000_000);
        let mut env = record(70, 100_000_000);
        env.exec_time = WallTime(10);
        assert_eq!(j.exec(env).start_boot_ns, 100_000_000);
        let mut t = record(70, 100_000_000);
        t.exec_time = WallTime(20);
        assert_eq!(j.exec(t).history.len(), 1);
    }

    #[test]
    fn a_proc_read_does_not_replace_an_exec_record() {
        let mut j = Joiner::default();
        j.exec(record(50, 100_000_000));
        // /proc saw it after its exec, with a tick-precise start
        let mut from_proc = record(50, 100_000_000 + 3_000_000);
        from_proc.origin = Origin::Forked;
        from_proc.ppid = 1;
        j.replace(&[from_proc], 200_000_000);
        let mut again = record(50, 100_000_000);
        again.exec_time = WallTime(9);
        let again = j.exec(again);
        assert_eq!(again.history.len(), 1, "the first image is kept");
        assert_eq!(again.start_boot_ns, 100_000_000);
    }

    #[test]
    fn no_kernel_record_joins_a_later_user_record() {
        let mut j = Joiner::default();
        j.exec(record(5, 1_000));
        let e = j.exit(raw(5, 900, 2_000, false), &clock());
        assert_eq!(e.process.filename, "/bin/sleep");
    }
}
