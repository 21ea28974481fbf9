//! The rows of the two tables, with the text that sorting and search use
//! computed once when a row is made.

use crate::event::{ExitInfo, ProcessInfo, WallTime};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveRow {
    pub info: ProcessInfo,
    pub user: String,
    pub command: String,
    /// lower-cased comm, filename and argv, for search
    haystack: String,
    /// when the dashboard first saw it, to mark new rows
    pub first_seen: WallTime,
}

impl LiveRow {
    pub fn new(info: ProcessInfo, user: String, first_seen: WallTime) -> Self {
        let command = info.command_line();
        let haystack = haystack(&info);
        Self {
            info,
            user,
            command,
            haystack,
            first_seen,
        }
    }

    pub fn matches(&self, needle: &str) -> bool {
        needle.is_empty() || self.haystack.contains(needle)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinishedRow {
    /// arrival order, unique: the key of a finished row
    pub seq: u64,
    pub exit: ExitInfo,
    pub user: String,
    pub command: String,
    haystack: String,
}

impl FinishedRow {
    pub fn new(seq: u64, exit: ExitInfo, user: String) -> Self {
        let command = exit.process.command_line();
        let mut haystack = haystack(&exit.process);
        if exit.exit_comm != exit.process.comm {
            haystack.push('\n');
            haystack.push_str(&exit.exit_comm.to_lowercase());
        }
        Self {
            seq,
            exit,
            user,
            command,
            haystack,
        }
    }

    pub fn matches(&self, needle: &str) -> bool {
        needle.is_empty() || self.haystack.contains(needle)
    }
}

fn haystack(p: &ProcessInfo) -> String {
    let mut s = String::with_capacity(p.comm.len() + p.filename.len() + 32);
    s.push_str(&p.comm);
    s.push('\n');
    s.push_str(&p.filename);
    for arg in &p.argv {
        s.push('\n');
        s.push_str(arg);
    }
    s.to_lowercase()
}
