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
    pub usage: Usage,
}

/// One decoded ring-buffer record. An exit carries only what the kernel
/// keeps at exit; the join adds the exec record user space holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KernelEvent {
    Exec(ProcessInfo),
    ExecFailed(FailedExec),
    Exit(RawExit),
}
