//! The kernel-to-user pipeline: ring-buffer bytes are decoded into kernel
//! events, then joined into trace events. The backend and the fuzz tests
//! both run this, so what the tests feed arbitrary bytes is what the
//! kernel's records go through.

use std::collections::HashMap;

use crate::bpf::{self, DecodeError};
use crate::clock::BootClock;
use crate::event::{KernelEvent, TraceEvent};
use crate::join::Joiner;

/// Decode, then join, in two steps: `push` decodes each record as it is
/// read (from inside the ring-buffer callback), `join_pending` joins a
/// whole batch once it is passed on. A batch that is dropped instead
/// (`discard_pending`) then leaves the joiner as it was, so the join only
/// ever knows what the consumer was told.
#[derive(Debug)]
pub struct Pipeline {
    clock: BootClock,
    joiner: Joiner,
    /// decoded, not yet joined, in the order read
    pending: Vec<KernelEvent>,
}

impl Pipeline {
    pub fn new(clock: BootClock) -> Self {
        Self {
            clock,
            joiner: Joiner::default(),
            pending: Vec::new(),
        }
    }

    /// Decodes one ring-buffer record and queues it for the join. A record
    /// that does not decode is not queued; what to make of it (count it,
    /// report it) is the caller's choice.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), DecodeError> {
        let event = bpf::decode(bytes, &self.clock)?;
        self.pending.push(event);
        Ok(())
    }

    /// Joins what was queued, in order, and empties the queue.
    pub fn join_pending(&mut self) -> Vec<TraceEvent> {
        let clock = self.clock;
        let joiner = &mut self.joiner;
        // taken, not drained: the batch's memory goes with it, as a batch
        // can be thousands of records
        let pending = std::mem::take(&mut self.pending);
        joiner.next_batch();
        let settled = settled_later(&pending);
        let mut out = Vec::with_capacity(pending.len());
        for (i, event) in pending.into_iter().enumerate() {
            let (parent, reaper) = match event {
                KernelEvent::Exec(p) => {
                    out.push(TraceEvent::Exec(joiner.exec(p)));
                    continue;
                }
                KernelEvent::Fork(f) => {
                    let child = joiner.fork(&f, &clock);
                    // a child that execs or ends later in this batch is told
                    // by that event: under a storm that is nearly every
                    // fork, and a fork event passed on would cost the
                    // consumer as much as the exec does
                    if settled.get(&f.pid).is_none_or(|&last| last < i) {
                        out.push(TraceEvent::Fork(child.clone()));
                    }
                    continue;
                }
                KernelEvent::ExecFailed(f) => {
                    joiner.exec_failed(&f);
                    out.push(TraceEvent::ExecFailed(f));
                    continue;
                }
                KernelEvent::Exit(raw) => {
                    let (pid, reaper) = (raw.pid, raw.reaper);
                    out.push(TraceEvent::Exit(joiner.exit(raw, &clock)));
                    (pid, reaper)
                }
                KernelEvent::Ended(ended) => {
                    let process = joiner.ended(&ended, &clock);
                    let time = clock.to_wall(ended.exit_boot_ns);
                    // one Gone for a run of them: under a filtered storm
                    // most events are these
                    match out.last_mut() {
                        Some(TraceEvent::Gone { time: t, processes }) => {
                            *t = time;
                            processes.push(process);
                        }
                        _ => out.push(TraceEvent::Gone {
                            time,
                            processes: vec![process],
                        }),
                    }
                    (ended.pid, ended.reaper)
                }
            };
            // right after the end, as the kernel reparents at exit
            if reaper != 0 {
                joiner.reparent(parent, reaper);
                out.push(TraceEvent::Reparent {
                    time: out.last().map_or_else(Default::default, TraceEvent::time),
                    parent,
                    reaper,
                });
            }
        }
        out
    }

    /// Empties the queue without joining; returns how many were dropped.
    pub fn discard_pending(&mut self) -> usize {
        std::mem::take(&mut self.pending).len()
    }

    /// The join's records, to read.
    pub fn joined(&self) -> &Joiner {
        &self.joiner
    }

    /// The join's records, which pid-map snapshots also update.
    pub fn joiner(&mut self) -> &mut Joiner {
        &mut self.joiner
    }
}

/// For each pid that execs or ends in a batch, the index of its last such
/// event.
fn settled_later(batch: &[KernelEvent]) -> HashMap<u32, usize> {
    let mut last = HashMap::new();
    if !batch.iter().any(|e| matches!(e, KernelEvent::Fork(_))) {
        return last;
    }
    for (i, event) in batch.iter().enumerate() {
        let pid = match event {
            KernelEvent::Exec(p) => p.pid,
            KernelEvent::Exit(x) => x.pid,
            KernelEvent::Ended(e) => e.pid,
            KernelEvent::Fork(_) | KernelEvent::ExecFailed(_) => continue,
        };
        last.insert(pid, i);
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{ProcessInfo, RawEnded, RawFork, WallTime};

    #[test]
    fn records_that_do_not_decode_are_not_queued() {
        let mut p = Pipeline::new(BootClock::with_offset(0));
        assert!(p.push(&[]).is_err());
        assert!(p.push(&[9, 0, 0, 0]).is_err());
        assert_eq!(p.discard_pending(), 0);
        assert!(p.join_pending().is_empty());
        assert!(p.joiner().is_empty());
    }

    fn fork(pid: u32, start_boot_ns: u64) -> KernelEvent {
        KernelEvent::Fork(RawFork {
            pid,
            ppid: 1,
            uid: 0,
            comm: "sh".into(),
            start_boot_ns,
            not_kept: false,
        })
    }

    fn exec(pid: u32, start_boot_ns: u64) -> KernelEvent {
        KernelEvent::Exec(ProcessInfo {
            pid,
            ppid: 1,
            comm: "ls".into(),
            start: WallTime(start_boot_ns),
            start_boot_ns,
            exec_time: WallTime(start_boot_ns + 5),
            ..Default::default()
        })
    }

    fn ended(pid: u32, start_boot_ns: u64) -> KernelEvent {
        KernelEvent::Ended(RawEnded {
            pid,
            start_boot_ns,
            exit_boot_ns: start_boot_ns + 10,
            reaper: 0,
            had_record: true,
        })
    }

    fn forks(events: &[TraceEvent]) -> Vec<u32> {
        events
            .iter()
            .filter_map(|e| match e {
                TraceEvent::Fork(p) => Some(p.pid),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_fork_is_passed_on_only_when_nothing_later_in_the_batch_tells_of_it() {
        let mut p = Pipeline::new(BootClock::with_offset(0));
        // 5 execs and 7 ends later in the batch; 6 only forks; 8 ends and
        // its pid is forked again by a new process, which is news
        p.pending = vec![
            fork(5, 100),
            fork(6, 110),
            fork(7, 120),
            exec(5, 100),
            fork(8, 130),
            ended(7, 120),
            ended(8, 130),
            fork(8, 140),
        ];
        let out = p.join_pending();
        assert_eq!(forks(&out), [6, 8]);
        // the joiner knows every one of them all the same
        assert!(p.joined().live().iter().any(|x| x.pid == 6));
        let live = p.joined().live();
        assert!(
            live.iter().any(|x| x.pid == 5 && x.comm == "ls"),
            "{live:?}"
        );
    }
}
