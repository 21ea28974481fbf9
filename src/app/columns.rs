//! The columns of the Live and Finished tables: titles, default order and comparators.
//! Every comparison ends in a unique tie-break, so rows never jitter.

use std::cmp::Ordering;

use super::rows::{FinishedRow, LiveRow};

/// What a column gives up when the table is too narrow, in rank order
/// (lower ranks give up first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Yield {
    /// always shown whole
    Never,
    /// hidden
    Hide(u8),
    /// drawn in its short form (END without its date)
    Shorten(u8),
    /// cut by as much as the table lacks, down to its title (COMM)
    Shrink(u8),
}

/// How wide a column is drawn: as wide as its widest visible cell, from
/// its title with the sort arrow up to `cap`; the flexible column (the
/// command) takes what is left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Width {
    pub cap: u16,
    pub flex: bool,
    pub yields: Yield,
}

impl Width {
    pub(super) const fn upto(cap: u16) -> Self {
        Self {
            cap,
            flex: false,
            yields: Yield::Never,
        }
    }

    pub(super) const fn flexible() -> Self {
        Self {
            cap: u16::MAX,
            flex: true,
            yields: Yield::Never,
        }
    }

    pub(super) const fn yields(self, yields: Yield) -> Self {
        Self { yields, ..self }
    }
}

/// What both tables' column enums offer to the generic sort code and the
/// generic table drawer.
pub trait Column: Copy + Eq + 'static {
    /// what identifies a row of the table
    type Key: Copy + Eq + Into<u64>;
    const ALL: &'static [Self];
    fn title(self) -> &'static str;
    fn width(self) -> Width;

    /// The narrowest a shown column may be: its title and the sort arrow,
    /// so that no title is ever cut (`DU` for DURATION).
    fn min_width(self) -> u16 {
        self.title().chars().count() as u16 + 1
    }
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
    type Key = u32;
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

    fn width(self) -> Width {
        match self {
            // a u32 in full: a replayed file can hold any pid
            Self::Pid => Width::upto(10),
            Self::Ppid => Width::upto(10).yields(Yield::Hide(0)),
            Self::User => Width::upto(12).yields(Yield::Hide(1)),
            Self::Comm => Width::upto(16).yields(Yield::Shrink(3)),
            Self::Age => Width::upto(7),
            Self::Command => Width::flexible(),
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
    /// CPU time, user and system
    Cpu,
    /// peak resident set size
    Rss,
    Exit,
    Command,
}

impl Column for FinishedColumn {
    type Key = u64;
    const ALL: &'static [Self] = &[
        Self::End,
        Self::Pid,
        Self::Ppid,
        Self::User,
        Self::Comm,
        Self::Duration,
        Self::Cpu,
        Self::Rss,
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
            Self::Cpu => "CPU",
            Self::Rss => "RSS",
            Self::Exit => "EXIT",
            Self::Command => "COMMAND",
        }
    }

    fn width(self) -> Width {
        match self {
            // `2023-11-14 22:13:20.123` when not today
            Self::End => Width::upto(23).yields(Yield::Shorten(4)),
            // a u32 in full: a replayed file can hold any pid
            Self::Pid => Width::upto(10),
            Self::Ppid => Width::upto(10).yields(Yield::Hide(2)),
            Self::User => Width::upto(12).yields(Yield::Hide(3)),
            Self::Comm => Width::upto(16).yields(Yield::Shrink(5)),
            Self::Duration => Width::upto(9),
            // resource use is in the detail pane too: it goes first
            Self::Cpu => Width::upto(8).yields(Yield::Hide(1)),
            Self::Rss => Width::upto(6).yields(Yield::Hide(0)),
            // `SIGSEGV core`
            Self::Exit => Width::upto(14),
            Self::Command => Width::flexible(),
        }
    }

    fn default_descending(self) -> bool {
        matches!(
            self,
            Self::End | Self::Duration | Self::Cpu | Self::Rss | Self::Exit
        )
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
            // the process's name, not the name of the thread that ended it
            Self::Comm => x.process.comm.cmp(&y.process.comm),
            Self::Duration => x.duration_ns.cmp(&y.duration_ns),
            // unknown sorts below any figure
            Self::Cpu => x
                .usage
                .map(|u| u.cpu_ns())
                .cmp(&y.usage.map(|u| u.cpu_ns())),
            Self::Rss => x
                .usage
                .map(|u| u.max_rss_kib)
                .cmp(&y.usage.map(|u| u.max_rss_kib)),
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
