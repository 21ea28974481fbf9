//! The rows of the two tables, with the command line that sorting and
//! drawing use made once, when a row is made.

use std::sync::Arc;

use crate::event::{ExitInfo, ProcessInfo, WallTime};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveRow {
    pub info: ProcessInfo,
    pub user: Arc<str>,
    pub command: String,
    /// when the dashboard first saw it, to mark new rows
    pub first_seen: WallTime,
    /// the parent it was born to: `info.ppid` follows a reparenting (to
    /// init or a subreaper) when that parent ends, this does not, so the
    /// tree keeps a process under the one that started it
    pub born_of: u32,
}

impl LiveRow {
    pub fn new(info: ProcessInfo, user: Arc<str>, first_seen: WallTime) -> Self {
        let command = info.command_line();
        Self {
            born_of: info.ppid,
            info,
            user,
            command,
            first_seen,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinishedRow {
    /// arrival order, unique: the key of a finished row
    pub seq: u64,
    pub exit: ExitInfo,
    pub user: Arc<str>,
    pub command: String,
    /// the parent it was born to (see `LiveRow::born_of`); the exit's
    /// ppid is its parent at the end
    pub born_of: u32,
}

impl FinishedRow {
    /// A process whose last exec attempt failed shows what it could not
    /// run, with the error ("ENOENT nosuchcmd"): its own command line is
    /// the shell's that tried.
    pub fn new(seq: u64, exit: ExitInfo, user: Arc<str>) -> Self {
        let command = match exit.process.last_failure() {
            Some(step) => step.failure_label().unwrap_or_default(),
            None => exit.process.command_line(),
        };
        Self {
            seq,
            born_of: exit.process.ppid,
            exit,
            user,
            command,
        }
    }
}

/// Case-insensitive substring test; `needle` is already lower case. ASCII
/// letters fold here without allocating; other text is lower-cased only
/// when it has non-ASCII characters.
pub fn contains_folded(haystack: &str, needle: &str) -> bool {
    if haystack.is_ascii() && needle.is_ascii() {
        let (h, n) = (haystack.as_bytes(), needle.as_bytes());
        n.is_empty()
            || (n.len() <= h.len() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n)))
    } else {
        haystack.to_lowercase().contains(needle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_search() {
        assert!(contains_folded("GCC-12", "gcc"));
        assert!(contains_folded("abc", ""));
        assert!(!contains_folded("ab", "abc"));
        assert!(contains_folded("ÉCOLE", "école"));
        assert!(!contains_folded("make", "cake"));
    }
}
