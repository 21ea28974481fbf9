//! The columns of the two tables: titles, default order and comparators.
//! Every comparison ends in a unique tie-break, so rows never jitter.

use std::cmp::Ordering;

use super::rows::{FinishedRow, LiveRow};

/// What both tables' column enums offer to the generic sort code.
pub trait Column: Copy + Eq + 'static {
    const ALL: &'static [Self];
    fn title(self) -> &'static str;
    /// The order a first click or key press gives: biggest first for times and sizes.
    fn default_descending(self) -> bool;

    fn next(self) -> Self {
        let i = Self::ALL.iter().position(|&c| c == self).unwrap_or(0);
        Self::ALL[(i + 1) % Self::ALL.len()]
    }

    fn prev(self) -> Self {
        let i = Self::ALL.iter().position(|&c| c == self).unwrap_or(0);
        Self::ALL[(i + Self::ALL.len() - 1) % Self::ALL.len()]
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiveColumn {
    Pid,
    Ppid,
    User,
    Comm,
    Age,
    Command,
}

impl Column for LiveColumn {
    const ALL: &'static [Self] = &[
        Self::Pid,
        Self::Ppid,
        Self::User,
        Self::Comm,
        Self::Age,
        Self::Command,
    ];

    fn title(self) -> &'static str {
        match self {
            Self::Pid => "PID",
            Self::Ppid => "PPID",
            Self::User => "USER",
            Self::Comm => "COMM",
            Self::Age => "AGE",
            Self::Command => "COMMAND",
        }
    }

    fn default_descending(self) -> bool {
        matches!(self, Self::Age)
    }
}

impl LiveColumn {
    pub fn compare(self, a: &LiveRow, b: &LiveRow) -> Ordering {
        let primary = match self {
            Self::Pid => Ordering::Equal,
            Self::Ppid => a.info.ppid.cmp(&b.info.ppid),
            Self::User => a.user.cmp(&b.user),
            Self::Comm => a.info.comm.cmp(&b.info.comm),
            // older is bigger
            Self::Age => b.info.start.cmp(&a.info.start),
            Self::Command => a.command.cmp(&b.command),
        };
        primary.then(a.info.pid.cmp(&b.info.pid))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FinishedColumn {
    End,
    Pid,
    Ppid,
    User,
    Comm,
    Duration,
    Exit,
    Command,
}

impl Column for FinishedColumn {
    const ALL: &'static [Self] = &[
        Self::End,
        Self::Pid,
        Self::Ppid,
        Self::User,
        Self::Comm,
        Self::Duration,
        Self::Exit,
        Self::Command,
    ];

    fn title(self) -> &'static str {
        match self {
            Self::End => "END",
            Self::Pid => "PID",
            Self::Ppid => "PPID",
            Self::User => "USER",
            Self::Comm => "COMM",
            Self::Duration => "DURATION",
            Self::Exit => "EXIT",
            Self::Command => "COMMAND",
        }
    }

    fn default_descending(self) -> bool {
        matches!(self, Self::End | Self::Duration | Self::Exit)
    }
}

impl FinishedColumn {
    pub fn compare(self, a: &FinishedRow, b: &FinishedRow) -> Ordering {
        let (x, y) = (&a.exit, &b.exit);
        let primary = match self {
            Self::End => x.end.cmp(&y.end),
            Self::Pid => x.process.pid.cmp(&y.process.pid),
            Self::Ppid => x.process.ppid.cmp(&y.process.ppid),
            Self::User => a.user.cmp(&b.user),
            Self::Comm => x.exit_comm.cmp(&y.exit_comm),
            Self::Duration => x.duration_ns.cmp(&y.duration_ns),
            // failures sort above successes: signals, then codes
            Self::Exit => exit_rank(a).cmp(&exit_rank(b)),
            Self::Command => a.command.cmp(&b.command),
        };
        primary
            .then(x.process.pid.cmp(&y.process.pid))
            .then(a.seq.cmp(&b.seq))
    }
}

fn exit_rank(row: &FinishedRow) -> (u8, u32) {
    let s = row.exit.status;
    match (s.code(), s.signal()) {
        (_, Some(sig)) => (2, sig),
        (Some(code), None) => (u8::from(code != 0), code as u32),
        (None, None) => (0, 0),
    }
}

/// A table's sort: a column and a direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sort<C> {
    pub column: C,
    pub descending: bool,
}

impl<C: Column> Sort<C> {
    pub fn by(column: C) -> Self {
        Self {
            column,
            descending: column.default_descending(),
        }
    }

    pub fn apply(&self, ordering: Ordering) -> Ordering {
        if self.descending {
            ordering.reverse()
        } else {
            ordering
        }
    }
}
