//! Exec and exit rates over the last second, and execs per second over
//! the last minute, by event time.

use std::collections::VecDeque;

use super::commands::{PerSecond, WINDOW_SECS};
use crate::event::{Origin, TraceEvent, WallTime};

const BUCKET_NS: u64 = 100_000_000;
const WINDOW_NS: u64 = 1_000_000_000;

/// Counts per 100 ms of event time, kept for a little over a second.
#[derive(Clone, Debug, Default)]
pub struct Rates {
    buckets: VecDeque<(u64, u64, u64)>,
    execs: PerSecond,
}

impl Rates {
    /// Counts a batch of events as it arrives, paused or not.
    pub fn count(&mut self, events: &[TraceEvent]) {
        for event in events {
            match event {
                // an exec at the time of the exec, not of the fork; records
                // of processes found running are not execs
                TraceEvent::Exec(p) if p.origin == Origin::Exec => self.exec(p.exec_time),
                TraceEvent::Exit(e) => self.exit(e.end),
                _ => {}
            }
        }
    }

    pub fn exec(&mut self, at: WallTime) {
        self.bucket(at).1 += 1;
        self.execs.add(at, 1);
    }

    /// Execs in each whole second of the last minute, oldest first.
    pub fn history(&self, now: WallTime) -> Vec<u64> {
        self.execs.recent(now, WINDOW_SECS)
    }

    pub fn exit(&mut self, at: WallTime) {
        self.bucket(at).2 += 1;
    }

    fn bucket(&mut self, at: WallTime) -> &mut (u64, u64, u64) {
        let b = at.0 / BUCKET_NS;
        let i = match self.buckets.binary_search_by_key(&b, |x| x.0) {
            Ok(i) => i,
            Err(i) => {
                self.buckets.insert(i, (b, 0, 0));
                i
            }
        };
        &mut self.buckets[i]
    }

    pub fn prune(&mut self, now: WallTime) {
        let oldest = now.0.saturating_sub(2 * WINDOW_NS) / BUCKET_NS;
        while self.buckets.front().is_some_and(|b| b.0 < oldest) {
            self.buckets.pop_front();
        }
    }

    /// Events in the second before `now`.
    pub fn per_second(&self, now: WallTime) -> (u64, u64) {
        let from = now.0.saturating_sub(WINDOW_NS) / BUCKET_NS;
        let to = now.0 / BUCKET_NS;
        self.buckets
            .iter()
            .filter(|b| b.0 > from && b.0 <= to)
            .fold((0, 0), |(e, x), b| (e + b.1, x + b.2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_last_second() {
        let mut r = Rates::default();
        let t = |ms: u64| WallTime(10_000_000_000 + ms * 1_000_000);
        for ms in [0, 100, 500, 900, 950] {
            r.exec(t(ms));
        }
        r.exit(t(950));
        assert_eq!(r.per_second(t(999)), (5, 1));
        assert_eq!(r.per_second(t(1_500)), (2, 1));
        let history = r.history(t(2_000));
        assert_eq!(history.len(), WINDOW_SECS);
        assert_eq!(history[WINDOW_SECS - 2..], [5, 0]);
        r.prune(t(10_000));
        assert_eq!(r.per_second(t(10_000)), (0, 0));
        assert!(r.buckets.is_empty());
    }
}
