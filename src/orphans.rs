//! Processes whose parent has ended get the parent the kernel gave them
//! (init or a subreaper): found at each snapshot by reading only their own
//! stat files, never all of /proc.

use std::collections::HashSet;

use crate::backend::BackendConfig;
use crate::bpf::Tracer;
use crate::event::ProcessInfo;
use crate::procfs;

/// Most parents looked up in /proc per snapshot: a bound on the cost when
/// many processes are orphaned at once; the rest wait a round.
const MAX_PARENT_READS: usize = 1_000;

/// Finds processes whose parent has ended, and gives them the parent the
/// kernel gave them (init or a subreaper). Only those processes' stat files
/// are read, never all of /proc.
#[derive(Default)]
pub struct Orphans {
    /// (pid, ppid) pairs that /proc confirmed although the parent is not in
    /// the live set (a parent tracer-tui cannot see): not read again
    confirmed: HashSet<(u32, u32)>,
}

impl Orphans {
    pub fn reparent(
        &mut self,
        tracer: &Tracer,
        config: &BackendConfig,
        live: &mut [ProcessInfo],
        kernel_threads: &HashSet<u32>,
    ) {
        let alive: HashSet<u32> = live.iter().map(|p| p.pid).collect();
        self.confirmed.retain(|(pid, _)| alive.contains(pid));
        let mut reads = 0;
        for p in live.iter_mut() {
            let parent_known = p.ppid == 0
                || alive.contains(&p.ppid)
                || kernel_threads.contains(&p.ppid)
                || self.confirmed.contains(&(p.pid, p.ppid));
            if parent_known || reads >= MAX_PARENT_READS {
                continue;
            }
            reads += 1;
            let Some((ppid, start)) = procfs::parent(&config.proc_root, p.pid) else {
                continue;
            };
            // the pid may belong to a newer process by now
            if start.abs_diff(p.start_boot_ns) > 20_000_000 {
                continue;
            }
            if ppid == p.ppid {
                self.confirmed.insert((p.pid, ppid));
            } else {
                p.ppid = ppid;
                // so the next snapshot has it too; forked processes have no record
                tracer.set_parent(p.pid, p.start_boot_ns, ppid);
            }
        }
    }
}
