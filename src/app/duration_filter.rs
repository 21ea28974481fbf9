//! The min duration as a predicate over finished rows, and how far back
//! the rows it shows are complete.
//!
//! The kernel drops exits shorter than its min duration, so lowering the
//! value cannot bring back exits it never sent: rows under the old value
//! are complete only from when the lower value took effect. A replay
//! filters here, over every row loaded, so its rows are always complete.

use std::time::Duration;

use crate::event::WallTime;

/// How many changes are remembered; older ones merge, keeping the larger
/// value, so the answer errs towards saying less is complete.
const MAX_CHANGES: usize = 64;

#[derive(Clone, Debug)]
pub struct DurationFilter {
    /// the values in force in the kernel, each from its time, oldest first
    changes: Vec<(WallTime, Duration)>,
    /// a replay: the App filters every row itself
    in_app: bool,
}

impl DurationFilter {
    pub fn new(initial: Duration, in_app: bool) -> Self {
        Self {
            changes: vec![(WallTime::default(), initial)],
            in_app,
        }
    }

    /// The source now applies `d`, from `now` on.
    pub fn applied(&mut self, now: WallTime, d: Duration) {
        if self.changes.last().map(|&(_, v)| v) == Some(d) {
            return;
        }
        self.changes.push((now, d));
        if self.changes.len() > MAX_CHANGES {
            let merged = self.changes[0].1.max(self.changes[1].1);
            self.changes.remove(0);
            self.changes[0] = (WallTime::default(), merged);
        }
    }

    /// Whether a finished process of this duration is shown under `min`.
    pub fn shows(min: Duration, duration_ns: u64) -> bool {
        u128::from(duration_ns) >= min.as_nanos()
    }

    /// From when the rows shown under `current` are complete, when that is
    /// later than the start: the time a higher value last gave way.
    pub fn complete_since(&self, current: Duration) -> Option<WallTime> {
        if self.in_app {
            return None;
        }
        let last_higher = self.changes.iter().rposition(|&(_, v)| v > current)?;
        self.changes.get(last_higher + 1).map(|&(t, _)| t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn lowering_is_complete_only_from_then() {
        let mut f = DurationFilter::new(Duration::ZERO, false);
        assert_eq!(f.complete_since(Duration::ZERO), None);
        f.applied(WallTime(10), 2000 * MS);
        // raising keeps what came before complete
        assert_eq!(f.complete_since(2000 * MS), None);
        f.applied(WallTime(20), 100 * MS);
        assert_eq!(f.complete_since(100 * MS), Some(WallTime(20)));
        f.applied(WallTime(30), 1000 * MS);
        // 1s rows were missed while 2s was in force, until 20
        assert_eq!(f.complete_since(1000 * MS), Some(WallTime(20)));
        f.applied(WallTime(40), 3000 * MS);
        assert_eq!(f.complete_since(3000 * MS), None);
        f.applied(WallTime(50), Duration::ZERO);
        assert_eq!(f.complete_since(Duration::ZERO), Some(WallTime(50)));
    }

    #[test]
    fn a_replay_is_always_complete() {
        let mut f = DurationFilter::new(2000 * MS, true);
        f.applied(WallTime(20), Duration::ZERO);
        assert_eq!(f.complete_since(Duration::ZERO), None);
    }

    #[test]
    fn merging_old_changes_never_claims_more() {
        let mut f = DurationFilter::new(5000 * MS, false);
        for i in 0..=200u64 {
            f.applied(
                WallTime(100 + i),
                if i % 2 == 0 { 10 * MS } else { 20 * MS },
            );
        }
        assert!(f.changes.len() <= MAX_CHANGES);
        assert_eq!(f.complete_since(10 * MS), Some(WallTime(300)));
        // the merged oldest value stays the largest
        assert_eq!(f.changes[0].1, 5000 * MS);
        assert!(DurationFilter::shows(10 * MS, 10_000_000));
        assert!(!DurationFilter::shows(10 * MS, 9_999_999));
    }
}
