//! The seam between event sources (the kernel backend, a replay file) and
//! the front ends (dashboard, headless output): what a source reports and
//! what may be asked of it.

use std::time::Duration;

use crate::event::{CommandTotals, ProcessInfo, TraceEvent, WallTime};

/// What the front end may ask of a source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    SetMinDuration(Duration),
    /// End once every traced process has ended (scoped tracing), after
    /// delivering their last events and the final per-command totals.
    EndWhenUntraced,
    Shutdown,
}

/// What a source reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// Trace events in the order the kernel produced them.
    Events(Vec<TraceEvent>),
    /// Every process the kernel's pid map holds now: the live table.
    Snapshot(Vec<ProcessInfo>),
    /// The min duration the kernel applies, read back after a change.
    MinDuration(Duration),
    /// A command could not be carried out; the source goes on.
    CommandFailed(String),
    /// The source stopped with an error.
    Failed(String),
    /// Something the source cannot do here; it goes on without it.
    Warning(String),
    /// The kernel's per-command totals that changed since its last update.
    Commands(CommandUpdate),
    /// A replay's clock: the recorded time it has reached, and where that is
    /// in the file.
    Clock(ReplayPosition),
    /// A replay has delivered its whole file.
    End,
}

/// Per-command totals read from the kernel: every process counted, also
/// those the min duration keeps off the finished list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommandUpdate {
    /// when they were read
    pub at: WallTime,
    /// the commands whose totals changed, with their totals since start
    pub changed: Vec<CommandTotals>,
    /// commands the kernel's bounded map evicted and counted afresh: runs
    /// between the last read and an eviction are not in the totals
    pub restarted: u64,
    /// names the kernel's full map took in and evicted between two reads:
    /// their runs are not counted at all (a total since start)
    pub unseen: u64,
}

/// Where a replay is: its clock, between the recording's first moment and
/// its last event, where the clock stops.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplayPosition {
    pub clock: WallTime,
    pub first: WallTime,
    pub last: WallTime,
    pub stage: ReplayStage,
}

/// What a replay is doing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReplayStage {
    /// Playing a file checked to its end, so its last event is known.
    #[default]
    Playing,
    /// Checking a file before playing it: `done` of its `total` bytes. The
    /// clock has not started.
    Loading { done: u64, total: u64 },
    /// Showing a pipe or FIFO's lines as they arrive: there is no end to
    /// be through, and the clock is the newest event's time.
    Following,
}

impl ReplayPosition {
    /// How far through the recording's time span the clock is, rounded
    /// down, so 100 means the end was reached.
    pub fn percent(&self) -> u8 {
        let span = self.last.0.saturating_sub(self.first.0);
        if span == 0 || self.clock >= self.last {
            return 100;
        }
        let done = self.clock.0.saturating_sub(self.first.0);
        (u128::from(done) * 100 / u128::from(span)) as u8
    }
}

impl ReplayStage {
    /// How far loading is, rounded down.
    pub fn loaded_percent(done: u64, total: u64) -> u8 {
        if total == 0 || done >= total {
            return 100;
        }
        (u128::from(done) * 100 / u128::from(total)) as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_runs_from_the_start_to_the_last_event() {
        let at = |clock| ReplayPosition {
            clock: WallTime(clock),
            first: WallTime(1_000),
            last: WallTime(3_000),
            stage: ReplayStage::Playing,
        };
        assert_eq!(at(1_000).percent(), 0);
        assert_eq!(at(1_739).percent(), 36);
        assert_eq!(at(2_999).percent(), 99);
        assert_eq!(at(3_000).percent(), 100);
        // a recording of one moment is over at once
        assert_eq!(ReplayPosition::default().percent(), 100);
    }
}
