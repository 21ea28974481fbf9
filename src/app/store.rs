//! The one process store the views read: live processes, finished ones
//! (capped, oldest evicted first), the per-command aggregates, and the
//! indexes between them. It knows nothing of sorting, selection or keys.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use super::commands::Commands;
use super::rows::{FinishedRow, LiveRow};
use crate::event::{ExitInfo, FailedExec, Origin, ProcessInfo, WallTime};

/// What applying something changed, so the views know what to redo.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Changed {
    pub live: bool,
    /// the first new finished row's seq
    pub finished_from: Option<u64>,
}

pub struct Store {
    /// user names, shared by every row
    users: HashMap<u32, Arc<str>>,
    pub(super) live: HashMap<u32, LiveRow>,
    pub(super) finished: VecDeque<FinishedRow>,
    max_finished: usize,
    /// the newest finished row of each pid, for parent chains
    finished_by_pid: HashMap<u32, u64>,
    pub(super) next_seq: u64,
    /// finished rows dropped to keep the list at its cap
    pub evicted: u64,
    pub commands: Commands,
    seen_snapshot: bool,
    /// live rows added, changed or removed since the live view last took
    /// them; None: too many to list, or replaced by a snapshot
    live_touched: Option<HashSet<u32>>,
}

impl Store {
    pub fn new(users: &HashMap<u32, String>, max_finished: usize) -> Self {
        Self {
            users: users
                .iter()
                .map(|(&uid, name)| (uid, Arc::from(name.as_str())))
                .collect(),
            live: HashMap::new(),
            finished: VecDeque::new(),
            max_finished,
            finished_by_pid: HashMap::new(),
            next_seq: 0,
            evicted: 0,
            commands: Commands::default(),
            seen_snapshot: false,
            live_touched: None,
        }
    }

    /// Which live rows changed since the last call; None when they cannot
    /// be listed (a snapshot replaced them, or too many changed).
    pub fn take_live_touched(&mut self) -> Option<HashSet<u32>> {
        self.live_touched.replace(HashSet::new())
    }

    fn touch(&mut self, pid: u32) {
        if let Some(touched) = &mut self.live_touched {
            touched.insert(pid);
            // past this the list costs more than a full sort saves
            if touched.len() > 4_096 + self.live.len() / 2 {
                self.live_touched = None;
            }
        }
    }

    pub fn live_count(&self) -> usize {
        self.live.len()
    }

    pub fn finished_count(&self) -> usize {
        self.finished.len()
    }

    pub fn live_row(&self, pid: u32) -> Option<&LiveRow> {
        self.live.get(&pid)
    }

    pub fn live_rows(&self) -> impl Iterator<Item = &LiveRow> {
        self.live.values()
    }

    pub fn finished_row(&self, seq: u64) -> Option<&FinishedRow> {
        let first = self.finished.front()?.seq;
        self.finished
            .get(usize::try_from(seq.checked_sub(first)?).ok()?)
    }

    pub fn finished_rows(&self) -> impl DoubleEndedIterator<Item = &FinishedRow> {
        self.finished.iter()
    }

    /// The oldest finished row still kept.
    pub fn oldest_seq(&self) -> u64 {
        self.finished.front().map_or(self.next_seq, |r| r.seq)
    }

    fn user(&mut self, uid: u32) -> Arc<str> {
        let name = self.users.entry(uid).or_insert_with(|| {
            if uid == u32::MAX {
                Arc::from("?")
            } else {
                Arc::from(uid.to_string())
            }
        });
        Arc::clone(name)
    }

    /// A process exec'd; `ended` holds the processes whose exit is in the
    /// same batch, which need no live row.
    pub fn exec(
        &mut self,
        p: ProcessInfo,
        now: WallTime,
        ended: &HashSet<(u32, WallTime)>,
    ) -> Changed {
        if ended.contains(&(p.pid, p.start)) {
            // an image this process exec'd before this one is gone too
            let live = self.live.remove(&p.pid).is_some();
            self.touch(p.pid);
            return Changed {
                live,
                ..Default::default()
            };
        }
        let (pid, user, seen) = (p.pid, self.user(p.uid), now.max(p.start));
        // a process that exec's after its fork was born where its fork
        // row says, though it may have been reparented since
        let born_of = self
            .live
            .get(&pid)
            .filter(|old| same_process(&old.info, &p))
            .map(|old| old.born_of);
        let mut row = LiveRow::new(p, user, seen);
        if let Some(parent) = born_of {
            row.born_of = parent;
        }
        self.live.insert(pid, row);
        self.touch(pid);
        Changed {
            live: true,
            ..Default::default()
        }
    }

    /// A new process, not exec'd yet: a live row like an exec's.
    pub fn fork(
        &mut self,
        p: ProcessInfo,
        now: WallTime,
        ended: &HashSet<(u32, WallTime)>,
    ) -> Changed {
        self.exec(p, now, ended)
    }

    /// `parent` ended: its live children have `reaper` as their parent.
    /// `born_of` stays: the tree shows where a process was born.
    pub fn reparent(&mut self, parent: u32, reaper: u32) -> Changed {
        let mut moved = Vec::new();
        for row in self.live.values_mut() {
            if row.info.ppid == parent {
                row.info.ppid = reaper;
                moved.push(row.info.pid);
            }
        }
        let live = !moved.is_empty();
        for pid in moved {
            self.touch(pid);
        }
        Changed {
            live,
            ..Default::default()
        }
    }

    /// A process ended: its live row (if any) becomes a finished row.
    pub fn exit(&mut self, mut e: ExitInfo) -> Changed {
        let mut changed = Changed::default();
        let mut born_of = None;
        if self
            .live
            .get(&e.process.pid)
            .is_some_and(|row| same_process(&row.info, &e.process))
        {
            self.touch(e.process.pid);
            if let Some(row) = self.live.remove(&e.process.pid) {
                born_of = Some(row.born_of);
                if e.process.origin == Origin::ExitOnly {
                    // the exit alone says little: what the live row knew is
                    // the process (the row and the detail pane then agree)
                    e.process = ProcessInfo {
                        ppid: e.process.ppid,
                        ..row.info
                    };
                } else if e.process.history.is_empty() && !row.info.history.is_empty() {
                    // a source that sends the exit without the process's
                    // execs and failures: the live row has them
                    e.process.history = row.info.history;
                    e.process.history_dropped = row.info.history_dropped;
                }
            }
            changed.live = true;
        }
        changed.finished_from = Some(self.push_finished(e, born_of));
        changed
    }

    pub fn exec_failed(&mut self, f: &FailedExec) -> Changed {
        let live = match self.live.get_mut(&f.pid) {
            Some(row) if same_start(&row.info, f.start, f.start_boot_ns) => {
                row.info.add_failure(f);
                self.touch(f.pid);
                true
            }
            _ => false,
        };
        Changed {
            live,
            ..Default::default()
        }
    }

    /// A replay's record of processes that left without a reported exit.
    pub fn gone(&mut self, processes: &[(u32, WallTime)]) -> Changed {
        let mut live = false;
        for &(pid, start) in processes {
            if self.live.get(&pid).is_some_and(|r| r.info.start == start) {
                self.live.remove(&pid);
                self.touch(pid);
                live = true;
            }
        }
        Changed {
            live,
            ..Default::default()
        }
    }

    fn push_finished(&mut self, exit: ExitInfo, born_of: Option<u32>) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.finished_by_pid.insert(exit.process.pid, seq);
        let user = self.user(exit.process.uid);
        let mut row = FinishedRow::new(seq, exit, user);
        if let Some(parent) = born_of {
            row.born_of = parent;
        }
        self.finished.push_back(row);
        while self.finished.len() > self.max_finished {
            if let Some(old) = self.finished.pop_front() {
                self.evicted += 1;
                if self.finished_by_pid.get(&old.exit.process.pid) == Some(&old.seq) {
                    self.finished_by_pid.remove(&old.exit.process.pid);
                }
            }
        }
        seq
    }

    /// The kernel's pid map is the live table's truth: a lost exit cannot
    /// leave a ghost row past the next snapshot.
    pub fn snapshot(&mut self, processes: Vec<ProcessInfo>, now: WallTime) {
        let mut next = HashMap::with_capacity(processes.len());
        for p in processes {
            let (first_seen, born_of) = match self.live.get(&p.pid) {
                Some(old) if same_process(&old.info, &p) => (old.first_seen, old.born_of),
                // the first snapshot is the starting state, not news
                _ if !self.seen_snapshot => (WallTime::default(), p.ppid),
                _ => (now, p.ppid),
            };
            let user = self.user(p.uid);
            let mut row = LiveRow::new(p, user, first_seen);
            row.born_of = born_of;
            next.insert(row.info.pid, row);
        }
        self.live = next;
        self.live_touched = None;
        self.seen_snapshot = true;
    }

    /// The name and parent of a process still known, live or finished.
    pub fn known(&self, pid: u32) -> Option<(&str, u32)> {
        known(&self.live, &self.finished, &self.finished_by_pid, pid)
    }

    /// What the newest finished row tells its command: its parent, its
    /// command line, and (`count`) the run itself. Nothing is allocated
    /// unless the command line is new to the command.
    pub fn note_newest(&mut self, count: bool) {
        let Some(row) = self.finished.back() else {
            return;
        };
        let e = &row.exit;
        if count {
            self.commands.add_exit(e);
        }
        let parent = known(
            &self.live,
            &self.finished,
            &self.finished_by_pid,
            e.process.ppid,
        );
        self.commands
            .note(e, parent.map(|(comm, _)| comm), &row.command);
    }

    /// The known ancestors of a process: (pid, comm), nearest first.
    pub fn parent_chain(&self, ppid: u32) -> Vec<(u32, String)> {
        let mut chain = Vec::new();
        let mut pid = ppid;
        while pid != 0 && chain.len() < 16 && !chain.iter().any(|&(p, _)| p == pid) {
            let Some((comm, parent)) = self.known(pid) else {
                chain.push((pid, "?".to_string()));
                break;
            };
            chain.push((pid, comm.to_string()));
            pid = parent;
        }
        chain
    }
}

fn known<'a>(
    live: &'a HashMap<u32, LiveRow>,
    finished: &'a VecDeque<FinishedRow>,
    finished_by_pid: &HashMap<u32, u64>,
    pid: u32,
) -> Option<(&'a str, u32)> {
    if let Some(row) = live.get(&pid) {
        return Some((&row.info.comm, row.info.ppid));
    }
    let seq = *finished_by_pid.get(&pid)?;
    let first = finished.front()?.seq;
    let row = finished.get(usize::try_from(seq.checked_sub(first)?).ok()?)?;
    // the process's name, not its last thread's
    Some((&row.exit.process.comm, row.exit.process.ppid))
}

fn same_start(p: &ProcessInfo, start: WallTime, start_boot_ns: u64) -> bool {
    (p.start_boot_ns != 0 && p.start_boot_ns == start_boot_ns) || p.start == start
}

/// Same process, not just the same pid: pid reuse must not merge rows.
fn same_process(a: &ProcessInfo, b: &ProcessInfo) -> bool {
    // a replay has no boot-time stamps (0): only the start time tells there
    a.pid == b.pid && same_start(a, b.start, b.start_boot_ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(pid: u32, ppid: u32, start: u64) -> ProcessInfo {
        ProcessInfo {
            pid,
            ppid,
            comm: "sh".into(),
            start: WallTime(start),
            start_boot_ns: start,
            exec_time: WallTime(start),
            origin: Origin::Forked,
            ..Default::default()
        }
    }

    #[test]
    fn a_fork_is_a_live_row_and_a_reparenting_keeps_where_it_was_born() {
        let mut s = Store::new(&HashMap::new(), 10);
        let none = HashSet::new();
        s.exec(process(10, 1, 5), WallTime(5), &none);
        assert!(s.fork(process(11, 10, 7), WallTime(7), &none).live);
        assert!(s.fork(process(12, 10, 8), WallTime(8), &none).live);
        // born and ended in the same batch: no row
        let ended = HashSet::from([(13, WallTime(9))]);
        s.fork(process(13, 10, 9), WallTime(9), &ended);
        assert!(s.live_row(13).is_none());

        assert!(s.reparent(10, 1).live);
        for pid in [11, 12] {
            let row = s.live_row(pid).expect("live");
            assert_eq!((row.info.ppid, row.born_of), (1, 10));
        }
        assert!(!s.reparent(10, 1).live, "nothing left to reparent");
        // an exec after the reparenting: still born of 10
        let mut exec = process(11, 1, 7);
        exec.origin = Origin::Exec;
        s.exec(exec, WallTime(20), &none);
        let row = s.live_row(11).expect("live");
        assert_eq!(
            (row.info.ppid, row.born_of, row.info.origin),
            (1, 10, Origin::Exec)
        );
    }
}
