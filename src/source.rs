//! The seam between event sources (the kernel backend, a replay file) and
//! the front ends (dashboard, headless output): what a source reports and
//! what may be asked of it.

use std::time::Duration;

use crate::event::{ProcessInfo, TraceEvent, WallTime};

/// What the front end may ask of a source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    SetMinDuration(Duration),
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
    /// A replay's clock: the recorded time it has reached.
    Clock(WallTime),
    /// A replay has delivered its whole file.
    End,
}
