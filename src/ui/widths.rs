//! Column widths: each column as wide as its widest visible cell, between
//! its title and its cap. When the table is too narrow, columns yield by
//! rank (PPID and USER hide, END drops its date, COMM is cut), so the
//! command and the exit status always stay on screen.

use crate::app::{Width, Yield};

pub const SPACING: u16 = 1;
/// The command keeps at least this many cells, or a third of the table,
/// while anything can yield: it is what a row is about.
pub const COMMAND_MIN: u16 = 16;

/// How a column is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shown {
    Hidden,
    Full(u16),
    /// its short form (END without the date)
    Short(u16),
}

impl Shown {
    pub fn width(self) -> u16 {
        match self {
            Shown::Hidden => 0,
            Shown::Full(w) | Shown::Short(w) => w,
        }
    }
}

/// What one column's visible cells need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Need {
    pub width: Width,
    /// the title and sort arrow
    pub min: u16,
    /// the widest cell
    pub full: u16,
    /// the widest cell in its short form
    pub short: u16,
}

/// Widths for a table `available` cells wide.
pub fn fit(needs: &[Need], available: u16) -> Vec<Shown> {
    let mut shown: Vec<Shown> = needs
        .iter()
        .map(|n| {
            if n.width.flex {
                Shown::Full(0)
            } else {
                Shown::Full(n.full.min(n.width.cap).max(n.min))
            }
        })
        .collect();
    let flex_min = needs
        .iter()
        .filter(|n| n.width.flex)
        .map(|n| n.min.max(COMMAND_MIN).max(available / 3))
        .sum::<u16>();
    let used = |shown: &[Shown]| -> u16 {
        let visible = shown.iter().filter(|s| **s != Shown::Hidden).count() as u16;
        let widths: u16 = shown.iter().map(|s| s.width()).sum();
        widths + SPACING * visible.saturating_sub(1) + flex_min
    };
    let mut steps: Vec<(u8, usize)> = needs
        .iter()
        .enumerate()
        .filter_map(|(i, n)| match n.width.yields {
            Yield::Never => None,
            Yield::Hide(r) | Yield::Shorten(r) | Yield::Shrink(r) => Some((r, i)),
        })
        .collect();
    steps.sort_unstable();
    for (_, i) in steps {
        let need = used(&shown);
        if need <= available {
            break;
        }
        let n = needs[i];
        shown[i] = match n.width.yields {
            Yield::Hide(_) => Shown::Hidden,
            Yield::Shorten(_) => Shown::Short(n.short.min(n.width.cap).max(n.min)),
            Yield::Shrink(_) => {
                let w = shown[i].width();
                Shown::Full(w.saturating_sub(need - available).max(n.min))
            }
            Yield::Never => shown[i],
        };
    }
    // the flexible column takes the rest
    let fixed = used(&shown) - flex_min;
    let rest = available.saturating_sub(fixed);
    for (s, n) in shown.iter_mut().zip(needs) {
        if n.width.flex {
            *s = Shown::Full(rest.max(n.min));
        }
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::{Column, FinishedColumn, LiveColumn};

    /// Needs of typical rows: END with a date (another day), a long COMM
    /// and a signal in EXIT.
    fn finished_needs(full: &[u16]) -> Vec<Need> {
        FinishedColumn::ALL
            .iter()
            .zip(full)
            .map(|(&c, &full)| Need {
                width: c.width(),
                min: c.min_width(),
                full,
                short: if c == FinishedColumn::End { 12 } else { full },
            })
            .collect()
    }

    fn busy() -> Vec<Need> {
        // END, PID, PPID, USER, COMM, DURATION, CPU, RSS, EXIT, COMMAND
        finished_needs(&[23, 7, 7, 12, 16, 6, 6, 5, 12, 80])
    }

    fn by_column(shown: &[Shown], c: FinishedColumn) -> Shown {
        shown[FinishedColumn::ALL.iter().position(|&x| x == c).unwrap()]
    }

    #[test]
    fn everything_fits_when_wide() {
        let shown = fit(&busy(), 158);
        assert!(shown.iter().all(|s| matches!(s, Shown::Full(_))));
        assert_eq!(by_column(&shown, FinishedColumn::End), Shown::Full(23));
        // the title with its arrow, though the cells are narrower
        assert_eq!(by_column(&shown, FinishedColumn::Duration), Shown::Full(9));
        let total: u16 = shown.iter().map(|s| s.width()).sum::<u16>() + 9;
        assert_eq!(total, 158);
    }

    #[test]
    fn columns_yield_in_rank_order() {
        use FinishedColumn::*;
        // 80 columns: RSS and CPU go first, PPID and USER next, then END's date
        let shown = fit(&busy(), 78);
        assert_eq!(by_column(&shown, Rss), Shown::Hidden);
        assert_eq!(by_column(&shown, Cpu), Shown::Hidden);
        assert_eq!(by_column(&shown, Ppid), Shown::Hidden);
        assert_eq!(by_column(&shown, User), Shown::Hidden);
        assert_eq!(by_column(&shown, End), Shown::Short(12));
        // then COMM gives what is still missing, no more
        assert_eq!(by_column(&shown, Comm), Shown::Full(7));
        assert!(by_column(&shown, Command).width() >= 78 / 3);
        // 60 columns: COMM is cut, never below its title
        let shown = fit(&busy(), 58);
        assert_eq!(by_column(&shown, Comm), Shown::Full(Comm.min_width()));
        assert_eq!(by_column(&shown, Duration), Shown::Full(9));
        assert_eq!(by_column(&shown, Exit), Shown::Full(12));
        assert!(by_column(&shown, Command).width() >= Command.min_width());
        let total: u16 = shown.iter().map(|s| s.width()).sum::<u16>()
            + shown.iter().filter(|s| **s != Shown::Hidden).count() as u16
            - 1;
        assert!(total <= 58, "{total}: {shown:?}");
    }

    #[test]
    fn only_what_is_needed_yields() {
        use FinishedColumn::*;
        // today's END has no date to drop; USER alone makes room
        let needs = finished_needs(&[12, 5, 5, 5, 16, 6, 6, 5, 4, 80]);
        let shown = fit(&needs, 90);
        assert_eq!(by_column(&shown, Rss), Shown::Hidden);
        assert_eq!(by_column(&shown, Cpu), Shown::Hidden);
        assert_eq!(by_column(&shown, Ppid), Shown::Hidden);
        assert_eq!(by_column(&shown, User), Shown::Full(5));
        assert_eq!(by_column(&shown, End), Shown::Full(12));
    }

    #[test]
    fn exit_and_command_never_yield() {
        for c in LiveColumn::ALL {
            if *c == LiveColumn::Command {
                assert_eq!(c.width().yields, Yield::Never);
            }
        }
        for c in [FinishedColumn::Exit, FinishedColumn::Command] {
            assert_eq!(c.width().yields, Yield::Never);
        }
    }
}
