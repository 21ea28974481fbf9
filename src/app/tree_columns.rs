//! The tree view's columns. A sort orders siblings (the tree stays a
//! tree); the subtree totals are what make a branch worth opening.

use super::columns::{Column, Width, Yield};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TreeColumn {
    /// when it started: siblings in the order they were spawned
    Start,
    Pid,
    /// processes in the subtree, this one included
    Procs,
    /// failed processes in the subtree
    Failed,
    /// finished processes' CPU time over the subtree
    Cpu,
    /// its own duration, or its age while it runs
    Duration,
    Exit,
    /// the command line behind the tree glyphs
    Command,
}

impl Column for TreeColumn {
    /// a hash of the line's stable id (see `tree::line_key`)
    type Key = u64;
    const ALL: &'static [Self] = &[
        Self::Start,
        Self::Pid,
        Self::Procs,
        Self::Failed,
        Self::Cpu,
        Self::Duration,
        Self::Exit,
        Self::Command,
    ];

    fn title(self) -> &'static str {
        match self {
            Self::Start => "START",
            Self::Pid => "PID",
            Self::Procs => "PROCS",
            Self::Failed => "FAILED",
            Self::Cpu => "CPU",
            Self::Duration => "DURATION",
            Self::Exit => "EXIT",
            Self::Command => "COMMAND",
        }
    }

    fn width(self) -> Width {
        match self {
            // `22:13:20.123`; the tree's order shows it already
            Self::Start => Width::upto(12).yields(Yield::Hide(0)),
            Self::Pid => Width::upto(10),
            Self::Procs => Width::upto(7),
            Self::Failed => Width::upto(7),
            Self::Cpu => Width::upto(8).yields(Yield::Hide(1)),
            Self::Duration => Width::upto(9),
            // `running`, `SIGSEGV core`
            Self::Exit => Width::upto(14),
            Self::Command => Width::flexible(),
        }
    }

    fn default_descending(self) -> bool {
        matches!(
            self,
            Self::Procs | Self::Failed | Self::Cpu | Self::Duration | Self::Exit
        )
    }
}
