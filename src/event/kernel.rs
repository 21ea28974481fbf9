//! What the kernel reports, decoded but not yet joined: the input of the
//! join, kept with the other domain events so that `join` needs nothing
//! from the module that wraps libbpf.

use super::{ExitStatus, FailedExec, ProcessInfo, Usage};

/// An exit as the kernel reported it, before it is joined with its exec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawExit {
    pub pid: u32,
    pub ppid: u32,
    pub uid: u32,
    pub status: ExitStatus,
    pub start_boot_ns: u64,
    pub exit_boot_ns: u64,
    /// the process's name (its thread-group leader's)
    pub comm: String,
    /// the name of the thread that ended it
    pub thread_comm: String,
    /// the start came from an exec record in the pid map
    pub had_record: bool,
    /// the parent its children have now; 0 when it had none
    pub reaper: u32,
    pub usage: Usage,
}

/// A new process (not a thread), as the kernel reported it at fork.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawFork {
    pub pid: u32,
    pub ppid: u32,
    pub uid: u32,
    /// its name: its parent's, until it execs
    pub comm: String,
    pub start_boot_ns: u64,
    /// the kernel's pid map was full: its record is not there
    pub not_kept: bool,
}

/// A process ended whose exit the kernel's min-duration filter kept back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawEnded {
    pub pid: u32,
    pub start_boot_ns: u64,
    pub exit_boot_ns: u64,
    /// the parent its children have now; 0 when it had none
    pub reaper: u32,
    /// the start came from a record in the pid map
    pub had_record: bool,
}

/// One decoded ring-buffer record. An exit carries only what the kernel
/// keeps at exit; the join adds the exec record user space holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KernelEvent {
    Exec(ProcessInfo),
    ExecFailed(FailedExec),
    Exit(RawExit),
    Fork(RawFork),
    Ended(RawEnded),
}
