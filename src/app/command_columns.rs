//! The Commands table's columns. Every comparison ends in the command's
//! name, which is unique, so rows never jitter.

use std::cmp::Ordering;

use super::columns::{Column, Width, Yield};
use super::commands::CommandRow;
use crate::event::WallTime;

/// Seconds the LAST 10S column counts.
pub const RECENT_SECS: usize = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommandColumn {
    Command,
    Runs,
    /// non-zero exits and signals
    Failed,
    /// CPU time of all runs
    Cpu,
    CpuPerRun,
    P50,
    P95,
    Max,
    MaxRss,
    /// runs in the last RECENT_SECS seconds
    Recent,
    /// the newest command line seen
    Line,
}

impl Column for CommandColumn {
    type Key = u64;
    const ALL: &'static [Self] = &[
        Self::Command,
        Self::Runs,
        Self::Failed,
        Self::Cpu,
        Self::CpuPerRun,
        Self::P50,
        Self::P95,
        Self::Max,
        Self::MaxRss,
        Self::Recent,
        Self::Line,
    ];

    fn title(self) -> &'static str {
        match self {
            Self::Command => "COMMAND",
            Self::Runs => "RUNS",
            Self::Failed => "FAILED",
            Self::Cpu => "CPU",
            Self::CpuPerRun => "CPU/RUN",
            Self::P50 => "P50",
            Self::P95 => "P95",
            Self::Max => "MAX",
            Self::MaxRss => "MAX RSS",
            Self::Recent => "LAST 10S",
            Self::Line => "LAST COMMAND LINE",
        }
    }

    /// Counts are printed in full, so their columns are wide enough for
    /// nine digits. On a narrow screen the command line goes first, then
    /// the figures the detail pane also gives; the name, runs, failures,
    /// CPU and median stay.
    fn width(self) -> Width {
        match self {
            Self::Command => Width::upto(16).yields(Yield::Shrink(6)),
            Self::Runs | Self::Failed => Width::upto(9),
            Self::Cpu => Width::upto(8),
            Self::CpuPerRun => Width::upto(8).yields(Yield::Hide(1)),
            Self::P50 => Width::upto(8),
            Self::P95 => Width::upto(8).yields(Yield::Hide(2)),
            Self::Max => Width::upto(8).yields(Yield::Hide(5)),
            Self::MaxRss => Width::upto(7).yields(Yield::Hide(4)),
            Self::Recent => Width::upto(9).yields(Yield::Hide(3)),
            Self::Line => Width::upto(80).yields(Yield::Hide(0)),
        }
    }

    fn default_descending(self) -> bool {
        !matches!(self, Self::Command | Self::Line)
    }
}

impl CommandColumn {
    pub fn compare(self, a: &CommandRow, b: &CommandRow, now: WallTime) -> Ordering {
        let (x, y) = (&a.totals, &b.totals);
        let primary = match self {
            Self::Command => Ordering::Equal,
            Self::Runs => x.runs.cmp(&y.runs),
            Self::Failed => x.failed.cmp(&y.failed),
            Self::Cpu => x.cpu_ns.cmp(&y.cpu_ns),
            Self::CpuPerRun => a.cpu_per_run().cmp(&b.cpu_per_run()),
            Self::P50 => a.p50.cmp(&b.p50),
            Self::P95 => a.p95.cmp(&b.p95),
            Self::Max => x.max_duration_ns.cmp(&y.max_duration_ns),
            Self::MaxRss => x.max_rss_kib.cmp(&y.max_rss_kib),
            Self::Recent => a
                .runs
                .sum(now, RECENT_SECS)
                .cmp(&b.runs.sum(now, RECENT_SECS)),
            Self::Line => a.lines.back().cmp(&b.lines.back()),
        };
        // the name ascends whatever the direction: reversed by the sort
        // only when it is the sort column
        match self {
            Self::Command => x.comm.cmp(&y.comm),
            _ => primary.then_with(|| y.comm.cmp(&x.comm)),
        }
    }
}
