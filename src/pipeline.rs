//! The kernel-to-user pipeline: ring-buffer bytes are decoded into kernel
//! events, then joined into trace events. The backend and the fuzz tests
//! both run this, so what the tests feed arbitrary bytes is what the
//! kernel's records go through.

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
        let mut out = Vec::with_capacity(pending.len());
        for event in pending {
            let (parent, reaper) = match event {
                KernelEvent::Exec(p) => {
                    out.push(TraceEvent::Exec(joiner.exec(p)));
                    continue;
                }
                KernelEvent::Fork(f) => {
                    out.push(TraceEvent::Fork(joiner.fork(&f, &clock)));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_that_do_not_decode_are_not_queued() {
        let mut p = Pipeline::new(BootClock::with_offset(0));
        assert!(p.push(&[]).is_err());
        assert!(p.push(&[9, 0, 0, 0]).is_err());
        assert_eq!(p.discard_pending(), 0);
        assert!(p.join_pending().is_empty());
        assert!(p.joiner().is_empty());
    }
}
