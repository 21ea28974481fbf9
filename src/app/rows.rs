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
}

impl LiveRow {
    pub fn new(info: ProcessInfo, user: Arc<str>, first_seen: WallTime) -> Self {
        let command = info.command_line();
        Self {
            info,
            user,
            command,
            first_seen,
        }
    }

    /// `needle` must be lower case.
    pub fn matches(&self, needle: &str) -> bool {
        matches_process(&self.info, needle)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinishedRow {
    /// arrival order, unique: the key of a finished row
    pub seq: u64,
    pub exit: ExitInfo,
    pub user: Arc<str>,
    pub command: String,
}

impl FinishedRow {
    /// `command` may come from the process's live row, to save making it again.
    /// A process whose last exec attempt failed shows what it could not
    /// run, with the error ("ENOENT nosuchcmd"): its own command line is
    /// the shell's that tried.
    pub fn new(seq: u64, exit: ExitInfo, user: Arc<str>, command: Option<String>) -> Self {
        let command = match exit.process.last_failure() {
            Some(step) => step.failure_label().unwrap_or_default(),
            None => command.unwrap_or_else(|| exit.process.command_line()),
        };
        Self {
            seq,
            exit,
            user,
            command,
        }
    }

    /// `needle` must be lower case.
    pub fn matches(&self, needle: &str) -> bool {
        matches_process(&self.exit.process, needle) || contains_folded(&self.exit.exit_comm, needle)
    }
}

/// Search over comm, filename and argv; nothing is allocated per row.
fn matches_process(p: &ProcessInfo, needle: &str) -> bool {
    needle.is_empty()
        || contains_folded(&p.comm, needle)
        || contains_folded(&p.filename, needle)
        || p.argv.iter().any(|a| contains_folded(a, needle))
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
