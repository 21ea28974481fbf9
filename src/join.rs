//! Joins each exit the kernel reports with the exec record of its process.
//!
//! The kernel's exit event is small (the exec record stays in user space);
//! this keeps the records from fork and exec events and pid-map snapshots,
//! so that every exit is shown with its filename, argv, uid and exec time,
//! and every live process with its parent as the kernel has it now.

use std::collections::HashMap;

use crate::clock::BootClock;
use crate::event::{
    ExitInfo, FailedExec, Origin, ProcessInfo, RawEnded, RawExit, RawFork, WallTime,
};

/// Slack when matching a record from /proc (clock-tick precision) to a
/// task's start time.
const PROC_START_SLACK_NS: u64 = 20_000_000;

#[derive(Debug, Default)]
pub struct Joiner {
    current: HashMap<u32, ProcessInfo>,
    /// Records the last snapshot no longer had. Kept one more round, for
    /// exits that were in flight while the snapshot was taken.
    previous: HashMap<u32, ProcessInfo>,
    /// whether the last `replace` changed the live set events had built
    replace_changed: bool,
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

    /// Takes in a new process: until it execs it runs its parent's image,
    /// so it gets its parent's command line (as ps shows it), and starts
    /// and "execs" at its fork.
    pub fn fork(&mut self, f: &RawFork, clock: &BootClock) -> &ProcessInfo {
        let start = clock.to_wall(f.start_boot_ns);
        let mut p = ProcessInfo {
            pid: f.pid,
            ppid: f.ppid,
            uid: f.uid,
            comm: f.comm.clone(),
            start,
            start_boot_ns: f.start_boot_ns,
            exec_time: start,
            origin: Origin::Forked,
            not_kept: f.not_kept,
            ..Default::default()
        };
        if let Some(parent) = self.current.get(&f.ppid) {
            inherit_image(&mut p, parent);
        }
        // a reconcile may have read its record before this event came:
        // what it learnt since (failed execs) stays
        if let Some(old) = self.current.remove(&f.pid) {
            if same_process(&old, &p) {
                p.history = old.history;
                p.history_dropped = old.history_dropped;
            }
        }
        self.current.entry(f.pid).insert_entry(p).into_mut()
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

    /// Takes in an end the kernel's min-duration filter kept back: the
    /// record is dropped; returns the process as (pid, start).
    pub fn ended(&mut self, ended: &RawEnded, clock: &BootClock) -> (u32, WallTime) {
        let raw = RawExit {
            pid: ended.pid,
            ppid: 0,
            uid: 0,
            status: Default::default(),
            start_boot_ns: ended.start_boot_ns,
            exit_boot_ns: ended.exit_boot_ns,
            comm: String::new(),
            thread_comm: String::new(),
            had_record: ended.had_record,
            reaper: ended.reaper,
            usage: Default::default(),
        };
        let start = take_matching(&mut self.current, &raw)
            .or_else(|| take_matching(&mut self.previous, &raw))
            .map_or_else(|| clock.to_wall(ended.start_boot_ns), |p| p.start);
        (ended.pid, start)
    }

    /// `parent` has ended: its children have `reaper` as their parent now.
    pub fn reparent(&mut self, parent: u32, reaper: u32) {
        for p in self.current.values_mut() {
            if p.ppid == parent {
                p.ppid = reaper;
            }
        }
    }

    /// Makes the kernel's pid map, read at boot time `taken_at`, the truth:
    /// records it lacks that are older than it belong to processes that
    /// ended unreported (their events lost), unless the map was full when
    /// they began. Returns those given up on now, a round later, as
    /// (pid, start).
    pub fn replace(&mut self, snapshot: &[ProcessInfo], taken_at: u64) -> Vec<(u32, WallTime)> {
        self.reconcile(snapshot, &[], taken_at, (u64::MAX, WallTime(u64::MAX)))
    }

    /// Whether the record held for `pid` is of this process (its exact
    /// kernel start) and image (exec time): a map record that says so
    /// need not be decoded.
    pub fn holds(&self, pid: u32, start_boot_ns: u64, exec_time: WallTime) -> bool {
        self.current
            .get(&pid)
            .is_some_and(|p| p.start_boot_ns == start_boot_ns && p.exec_time == exec_time)
    }

    /// `replace`, leaving out what the map shows of processes begun (boot
    /// ns) or exec'd (wall time) after `in_flight`: their events may still
    /// be on the way, and they, not this read, are to tell the news. If the
    /// events were lost, a later read finds the same difference, older.
    /// `held` lists the pids whose map records `holds` matched: ours stand.
    pub fn reconcile(
        &mut self,
        snapshot: &[ProcessInfo],
        held: &[u32],
        taken_at: u64,
        in_flight: (u64, WallTime),
    ) -> Vec<(u32, WallTime)> {
        let mut next: HashMap<u32, ProcessInfo> =
            HashMap::with_capacity(snapshot.len() + held.len());
        for pid in held {
            if let Some(p) = self.current.remove(pid) {
                next.insert(*pid, p);
            }
        }
        let mut changed = false;
        for p in snapshot {
            let merged = match self.current.remove(&p.pid) {
                Some(old)
                    if same_process(&old, p)
                        && p.exec_time > in_flight.1
                        && !same_image(&old, p) =>
                {
                    old
                }
                // the parent is ours: events told of every reparenting, and
                // the map's is the one it had at fork or exec
                Some(old) if same_process(&old, p) => {
                    changed |= !(ours_is_better(&old, p) || same_image(&old, p));
                    ProcessInfo {
                        ppid: old.ppid,
                        ..merge(old, p)
                    }
                }
                Some(old) if p.start_boot_ns > in_flight.0 => old,
                Some(old) => {
                    changed = true;
                    self.current.insert(old.pid, old);
                    p.clone()
                }
                None if p.start_boot_ns > in_flight.0 => continue,
                // its fork event was lost: the map's record has no image
                None if p.origin == Origin::Forked => {
                    changed = true;
                    let mut p = p.clone();
                    if let Some(parent) = next.get(&p.ppid).or_else(|| self.current.get(&p.ppid)) {
                        inherit_image(&mut p, parent);
                    }
                    p
                }
                None => {
                    changed = true;
                    p.clone()
                }
            };
            next.insert(p.pid, merged);
        }
        let mut gone = HashMap::new();
        for (pid, p) in self.current.drain() {
            // newer than the read, or never in the map (it was full): only
            // its exit or end can tell it has gone
            if p.start_boot_ns > taken_at || (p.not_kept && !next.contains_key(&pid)) {
                next.insert(pid, p);
            } else if !next.contains_key(&pid) {
                gone.insert(pid, p);
            }
        }
        self.current = next;
        // records given up on are not news to send a live set for: the
        // Gone event a round later tells consumers
        self.replace_changed = changed;
        let given_up = std::mem::replace(&mut self.previous, gone);
        given_up.into_values().map(|p| (p.pid, p.start)).collect()
    }

    /// Whether the last `replace` found what events had not told: if not,
    /// the live set it leaves is the one consumers already have.
    pub fn replace_changed(&self) -> bool {
        self.replace_changed
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

/// A record we hold and the map's record of the same process, as one.
fn merge(old: ProcessInfo, p: &ProcessInfo) -> ProcessInfo {
    match old {
        old if ours_is_better(&old, p) => old,
        // the map has the newest image; history is ours
        old if old.exec_time >= p.exec_time => ProcessInfo {
            history: old.history,
            history_dropped: old.history_dropped,
            ..p.clone()
        },
        // an exec the snapshot saw before its event
        old => old.reexec(p.clone()),
    }
}

/// A record made at fork (or from /proc) has no image of its own: ours,
/// from its exec or given at fork from the parent's, is the better one.
fn ours_is_better(old: &ProcessInfo, p: &ProcessInfo) -> bool {
    (p.origin != Origin::Exec && old.origin == Origin::Exec)
        || (p.origin == Origin::Forked && old.origin == Origin::Forked)
}

/// The same image of the same process: all but the parent and history,
/// which the join keeps as events told them. Every field is named, so a
/// new one must be thought about here.
fn same_image(a: &ProcessInfo, b: &ProcessInfo) -> bool {
    let ProcessInfo {
        pid,
        ppid: _,
        uid,
        comm,
        filename,
        argv,
        argv_truncated,
        filename_truncated,
        cgroup_id,
        start,
        start_boot_ns,
        exec_time,
        origin,
        history: _,
        history_dropped: _,
        not_kept,
    } = a;
    *pid == b.pid
        && *uid == b.uid
        && *comm == b.comm
        && *filename == b.filename
        && *argv == b.argv
        && *argv_truncated == b.argv_truncated
        && *filename_truncated == b.filename_truncated
        && *cgroup_id == b.cgroup_id
        && *start == b.start
        && *start_boot_ns == b.start_boot_ns
        && *exec_time == b.exec_time
        && *origin == b.origin
        && *not_kept == b.not_kept
}

/// What a child that has not exec'd shows: its parent's image.
fn inherit_image(child: &mut ProcessInfo, parent: &ProcessInfo) {
    child.filename = parent.filename.clone();
    child.argv = parent.argv.clone();
    child.argv_truncated = parent.argv_truncated;
    child.filename_truncated = parent.filename_truncated;
    child.cgroup_id = parent.cgroup_id;
    if !parent.comm.is_empty() {
        child.comm = parent.comm.clone();
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
            reaper: 0,
            usage: Default::default(),
        }
    }

    fn fork_of(pid: u32, ppid: u32, start: u64) -> RawFork {
        RawFork {
            pid,
            ppid,
            uid: 1000,
            comm: "worker-thread".into(),
            start_boot_ns: start,
            not_kept: false,
        }
    }

    #[test]
    fn a_forked_child_runs_its_parents_image_and_its_exec_adds_no_step() {
        let mut j = Joiner::default();
        let mut sh = record(80, 100);
        sh.argv = vec!["sh".into(), "-c".into(), "x".into()];
        sh.comm = "sh".into();
        j.exec(sh);
        let child = j.fork(&fork_of(81, 80, 500), &clock());
        assert_eq!(child.origin, Origin::Forked);
        assert_eq!(child.argv, ["sh", "-c", "x"]);
        assert_eq!((child.comm.as_str(), child.ppid), ("sh", 80));
        assert_eq!(child.start.0, 1_500);
        assert_eq!(child.exec_time, child.start);
        // a failed attempt first, then the exec
        j.exec_failed(&FailedExec {
            pid: 81,
            filename: "/nope".into(),
            errno: 2,
            start_boot_ns: 500,
            time: WallTime(1_600),
            ..Default::default()
        });
        let mut ls = record(81, 500);
        ls.argv = vec!["ls".into()];
        ls.exec_time = WallTime(1_700);
        let ls = j.exec(ls);
        assert_eq!(ls.history.len(), 1, "only the failure: {:?}", ls.history);
        assert!(ls.history[0].failed());
        // an unknown parent: the child keeps its own name
        let orphan = j.fork(&fork_of(90, 12345, 600), &clock());
        assert_eq!(
            (orphan.comm.as_str(), orphan.argv.len()),
            ("worker-thread", 0)
        );
    }

    #[test]
    fn reparenting_and_reconcile_keep_the_newest_parent() {
        let mut j = Joiner::default();
        j.exec(record(80, 100));
        j.fork(&fork_of(81, 80, 500), &clock());
        j.fork(&fork_of(82, 80, 600), &clock());
        j.exec(record(83, 700));
        j.reparent(80, 1);
        let mut live = j.live();
        live.sort_by_key(|p| p.pid);
        let parents: Vec<(u32, u32)> = live.iter().map(|p| (p.pid, p.ppid)).collect();
        assert_eq!(parents, [(80, 1), (81, 1), (82, 1), (83, 1)]);
        // the map still has the parent at fork, and no image for a forked one
        let mut forked = record(81, 500);
        forked.ppid = 80;
        forked.origin = Origin::Forked;
        forked.argv.clear();
        forked.filename.clear();
        j.replace(&[forked], 1_000);
        let p = &j.live()[0];
        assert_eq!((p.pid, p.ppid), (81, 1));
        assert_eq!(p.argv, ["sleep", "1"], "the image given at fork");
    }

    #[test]
    fn a_reconcile_that_finds_what_events_told_changes_nothing() {
        let mut j = Joiner::default();
        j.replace(&[record(1, 10), record(2, 20)], 100);
        assert!(j.replace_changed(), "the first read is news");
        j.exec(record(3, 200));
        j.reparent(1, 7);
        let mut map = vec![record(1, 10), record(2, 20), record(3, 200)];
        j.replace(&map, 300);
        assert!(!j.replace_changed(), "the map's older parent is not news");
        // a fork whose event is still on its way: not news yet, and not
        // taken in, so that a lost event is news at the next read
        map.push(record(4, 390));
        j.reconcile(&map, &[], 400, (350, WallTime(350)));
        assert!(!j.replace_changed());
        assert!(j.live().iter().all(|p| p.pid != 4));
        // records it holds as the map has them need no decoding
        assert!(j.holds(3, 200, WallTime(0)) && !j.holds(3, 201, WallTime(0)));
        j.reconcile(&map[2..], &[1, 2], 500, (450, WallTime(450)));
        assert!(j.replace_changed(), "older now: its event was lost");
    }

    #[test]
    fn an_end_kept_back_by_the_filter_drops_the_record() {
        let mut j = Joiner::default();
        j.exec(record(10, 100));
        let ended = RawEnded {
            pid: 10,
            start_boot_ns: 100,
            exit_boot_ns: 200,
            reaper: 0,
            had_record: true,
        };
        assert_eq!(j.ended(&ended, &clock()), (10, WallTime(0)));
        assert!(j.is_empty());
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
