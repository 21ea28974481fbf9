//! Joins each exit the kernel reports with the exec record of its process.
//!
//! The kernel's exit event is small (the exec record stays in user space);
//! this keeps the records from exec events and pid-map snapshots, so that
//! every exit is shown with its filename, argv, uid and exec time.

use std::collections::HashMap;

use crate::bpf::RawExit;
use crate::clock::BootClock;
use crate::event::{ExitInfo, Origin, ProcessInfo};

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
    pub fn exec(&mut self, process: &ProcessInfo) {
        self.current.insert(process.pid, process.clone());
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
                origin: Origin::ExitOnly,
                ..Default::default()
            });
        ExitInfo {
            process,
            exit_comm: raw.comm,
            end: clock.to_wall(raw.exit_boot_ns),
            duration_ns: raw.exit_boot_ns.saturating_sub(raw.start_boot_ns),
            status: raw.status,
        }
    }

    /// Makes the kernel's pid map, read at boot time `taken_at`, the truth:
    /// records it lacks that are older than it belong to processes that
    /// ended unreported (filtered by the min duration, or lost).
    pub fn replace(&mut self, snapshot: &[ProcessInfo], taken_at: u64) {
        let mut next: HashMap<u32, ProcessInfo> =
            snapshot.iter().map(|p| (p.pid, p.clone())).collect();
        let mut gone = HashMap::new();
        for (pid, p) in self.current.drain() {
            if p.start_boot_ns > taken_at {
                next.insert(pid, p);
            } else if !next.contains_key(&pid) {
                gone.insert(pid, p);
            }
        }
        self.current = next;
        self.previous = gone;
    }

    /// How many records are held, for tests and memory checks.
    pub fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn take_matching(records: &mut HashMap<u32, ProcessInfo>, raw: &RawExit) -> Option<ProcessInfo> {
    let p = records.get(&raw.pid)?;
    let matches = if raw.had_record {
        p.start_boot_ns == raw.start_boot_ns
    } else {
        // the kernel had no record (its map was full): any record of ours
        // made after the task started is this process's
        p.start_boot_ns + PROC_START_SLACK_NS >= raw.start_boot_ns
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
            had_record,
        }
    }

    #[test]
    fn joins_exit_with_exec() {
        let mut j = Joiner::default();
        j.exec(&record(10, 100));
        let e = j.exit(raw(10, 100, 600, true), &clock());
        assert_eq!(e.process.filename, "/bin/sleep");
        assert_eq!(e.duration_ns, 500);
        assert_eq!(e.end.0, 1_600);
        assert!(j.is_empty());
    }

    #[test]
    fn pid_reuse_does_not_join_the_old_record() {
        let mut j = Joiner::default();
        j.exec(&record(10, 100));
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
        j.exec(&record(1, 10)); // exit filtered in the kernel: never reported
        j.exec(&record(2, 500)); // exec after the snapshot was taken
        j.replace(&[], 100);
        assert_eq!(j.len(), 2);
        // an exit in flight during the snapshot still joins
        let e = j.exit(raw(1, 10, 150, true), &clock());
        assert_eq!(e.process.origin, Origin::Exec);
        j.exec(&record(3, 20));
        j.replace(&[record(2, 500)], 1_000);
        j.replace(&[record(2, 500)], 2_000);
        assert_eq!(j.len(), 1, "only the live process is kept");
    }

    #[test]
    fn no_kernel_record_joins_a_later_user_record() {
        let mut j = Joiner::default();
        j.exec(&record(5, 1_000));
        let e = j.exit(raw(5, 900, 2_000, false), &clock());
        assert_eq!(e.process.filename, "/bin/sleep");
    }
}
