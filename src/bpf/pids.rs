//! The pid map from user space: the batched reads of a reconcile, the
//! records seeded from /proc at start, and the removal of one whose exit
//! was never seen.

use libbpf_rs::{MapCore, MapFlags};

use super::{as_bytes, commands, decode, types, Tracer};
use crate::clock::BootClock;
use crate::event::ProcessInfo;
use crate::procfs::ProcEntry;

impl Tracer<'_> {
    /// Every record in the pid map: the processes alive now. Read in
    /// batches (BPF_MAP_LOOKUP_BATCH), not a lookup per process: 10,000
    /// records cost a few syscalls instead of 20,000.
    pub fn snapshot(&self, clock: &BootClock) -> Vec<ProcessInfo> {
        self.snapshot_known(clock, |_, _, _| false).0
    }

    /// Every record in the pid map, as `snapshot`, except those `known`
    /// (pid, start and exec boot ns) says user space holds already: they
    /// are only listed, by pid, not decoded (most of a reconcile's cost).
    pub fn snapshot_known(
        &self,
        clock: &BootClock,
        known: impl Fn(u32, u64, u64) -> bool,
    ) -> (Vec<ProcessInfo>, Vec<u32>) {
        let map = &self.skel.maps.pids;
        let mut out = (Vec::new(), Vec::new());
        let add = |out: &mut (Vec<ProcessInfo>, Vec<u32>), value: &[u8]| {
            let r: types::exec_record = decode::from_bytes(value);
            let exec_ns = if r.exec_ns != 0 {
                r.exec_ns
            } else {
                r.start_ns
            };
            if known(r.pid, r.start_ns, exec_ns) {
                out.1.push(r.pid);
            } else if let Ok(p) = decode::exec_record(value, clock) {
                out.0.push(p);
            }
        };
        if commands::read_batched(map, &mut |_, value| add(&mut out, value)).is_err() {
            // batch lookups came in 5.6: one lookup per key there
            out = (Vec::new(), Vec::new());
            commands::read_one_by_one(map, &mut |_, value| add(&mut out, value));
        }
        out
    }

    /// Removes a process's record (one whose exit was never seen), unless
    /// the pid now belongs to a newer process. True when it was removed.
    pub fn forget(&self, pid: u32, start_boot_ns: u64) -> bool {
        let map = &self.skel.maps.pids;
        let key = pid.to_ne_bytes();
        let Ok(Some(value)) = map.lookup(&key, MapFlags::ANY) else {
            return false;
        };
        let record: types::exec_record = decode::from_bytes(&value);
        // a record already gone is what we wanted
        record.start_ns == start_boot_ns && map.delete(&key).is_ok()
    }

    /// Adds records for processes that were running before tracing began.
    /// A record the kernel already made at exec wins. Returns how many
    /// were added.
    pub fn seed(&self, entries: &[ProcEntry]) -> usize {
        entries
            .iter()
            .filter(|entry| {
                let record = decode::record_from_proc(entry);
                self.skel
                    .maps
                    .pids
                    .update(
                        &entry.pid.to_ne_bytes(),
                        as_bytes(&record),
                        MapFlags::NO_EXIST,
                    )
                    .is_ok()
            })
            .count()
    }
}

/// A process read from /proc, cleaned the way a kernel record is.
pub fn process_from_proc(entry: &ProcEntry, clock: &BootClock) -> Option<ProcessInfo> {
    let record = decode::record_from_proc(entry);
    decode::exec_record(as_bytes(&record), clock).ok()
}
