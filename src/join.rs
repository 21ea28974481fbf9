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
    /// Parents that ended with children, and who took the children in, in
    /// this batch and the one before: an exec that read its parent on one
    /// CPU just before that parent ended on another can reach the ring
    /// after the end, naming the dead parent.
    adopted: HashMap<u32, u32>,
    adopted_before: HashMap<u32, u32>,
}

impl Joiner {
    /// A new batch from the ring: reparentings older than the last batch
    /// are forgotten (the race they mend lasts microseconds).
    pub fn next_batch(&mut self) {
        self.adopted_before = std::mem::take(&mut self.adopted);
    }

    /// Takes in an exec; returns the process with its earlier images, when
    /// it is a process already known that exec'd again.
    pub fn exec(&mut self, mut process: ProcessInfo) -> ProcessInfo {
        let pid = process.pid;
        if !self.current.contains_key(&process.ppid) {
            let adopted = self.adopted.get(&process.ppid);
            if let Some(&reaper) = adopted.or_else(|| self.adopted_before.get(&process.ppid)) {
                process.ppid = reaper;
            }
        }
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
        self.adopted.insert(parent, reaper);
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

    /// How many processes are alive.
    pub fn live_count(&self) -> usize {
        self.current.len()
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
mod tests;
