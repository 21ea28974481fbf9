//! Tracing one command's or one process's tree instead of the whole host:
//! what is traced (`Target`), starting the command inside the traced set
//! (`spawn`), and the backend's part (seeding only the roots, ending when
//! the set is empty).

pub mod map;
mod session;
mod spawn;
mod user;

use std::ffi::OsString;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use crate::bpf::Tracer;
use crate::procfs;

pub use session::{Session, TERMINATE_GRACE};
pub use spawn::{spawn, CannotRun, Ended, Running};
pub use user::{check_privilege, lookup as lookup_user, User};

/// What is traced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// every process on the host
    Host,
    /// a command started for the purpose, and its descendants
    Command {
        argv: Vec<OsString>,
        user: Option<String>,
    },
    /// a running process, and whatever it starts from then on
    Pid(u32),
}

impl Target {
    pub fn scoped(&self) -> bool {
        !matches!(self, Target::Host)
    }
}

/// The backend's part of scoping, set before it starts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BackendScope {
    /// running processes to put into the traced set at start (--pid)
    pub roots: Vec<u32>,
}

/// Fails with one line when --pid names no process.
pub fn check_pid(pid: u32) -> Result<()> {
    if pid == 0 || i32::try_from(pid).is_err() {
        bail!("--pid {pid} is not a process id");
    }
    if !procfs::exists(pid) {
        bail!("--pid {pid}: no such process");
    }
    Ok(())
}

/// The backend's start: in scoped mode the roots go into the traced set and
/// only they are seeded from /proc; otherwise every running process is,
/// and the entries seeded are returned, to be checked once for those that
/// ended before their record went in.
pub fn seed(
    tracer: &Tracer,
    scoped: bool,
    scope: &BackendScope,
    proc_root: &Path,
) -> Result<Vec<procfs::ProcEntry>> {
    if !scoped {
        let seeded = procfs::scan(proc_root);
        tracer.seed(&seeded);
        return Ok(seeded);
    }
    for &pid in &scope.roots {
        tracer.trace(pid)?;
        // in the set now: its exit will take it out. Gone already, its exit
        // was missed and nothing would, so it comes out here
        match procfs::read(proc_root, pid) {
            procfs::Read::Process(entry) => {
                let start = entry.start_boot_ns;
                tracer.seed(&[entry]);
                // it ended between the read and the seed: its exit took it
                // out of the set and found no record to remove, so the
                // record just put in would stay for good
                if !tracer.is_traced(pid) {
                    tracer.forget(pid, start);
                }
            }
            _ if procfs::exists(pid) => {}
            _ => tracer.untrace(pid),
        }
    }
    // the roots were checked one by one above
    Ok(Vec::new())
}

/// When the backend ends by itself: once asked to (after the root is in
/// the traced set), when the set is empty, after one more drain, so that
/// the last exits (taken out of the set before their events are sent) are
/// read before the end.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Ending {
    /// the backend runs until told to stop
    #[default]
    Never,
    /// ends once the traced set is empty
    Armed,
    /// the set was seen empty at this moment; a round after SETTLE ends
    Emptied(Instant),
}

/// How long after the set is seen empty the last drain waits: an exit
/// program takes its process out of the set a few microseconds before it
/// submits the exit event.
pub const SETTLE: Duration = Duration::from_millis(20);

impl Ending {
    pub fn arm(&mut self) {
        if *self == Ending::Never {
            *self = Ending::Armed;
        }
    }

    /// Called once a round, before the round's drain; true when this round
    /// is the last. The round that first sees the set empty drains as usual;
    /// the first round SETTLE later is the last: an exit program that took
    /// its process out of the set is by then long done sending.
    pub fn due(&mut self, now: Instant, empty: impl FnOnce() -> Result<bool>) -> Result<bool> {
        match *self {
            Ending::Never => Ok(false),
            Ending::Emptied(at) => Ok(now.duration_since(at) >= SETTLE),
            Ending::Armed => {
                if empty()? {
                    *self = Ending::Emptied(now);
                }
                Ok(false)
            }
        }
    }
}

/// How long a run took, for the header and the summary.
pub fn seconds(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ending_waits_for_arming_then_one_more_round_after_the_settle() {
        let t0 = Instant::now();
        let mut e = Ending::default();
        assert!(!e.due(t0, || Ok(true)).unwrap(), "not armed: never ends");
        e.arm();
        assert!(!e.due(t0, || Ok(false)).unwrap());
        assert!(
            !e.due(t0, || Ok(true)).unwrap(),
            "the round that sees it empty drains"
        );
        assert_eq!(e, Ending::Emptied(t0));
        let soon = t0 + SETTLE / 2;
        assert!(!e.due(soon, || panic!("not asked again")).unwrap());
        assert!(e.due(t0 + SETTLE, || panic!("not asked again")).unwrap());
        e.arm();
        assert_eq!(e, Ending::Emptied(t0), "arming again changes nothing");
    }

    #[test]
    fn pid_zero_and_missing_pids_are_refused() {
        assert!(check_pid(0)
            .unwrap_err()
            .to_string()
            .contains("not a process id"));
        assert!(check_pid(u32::MAX).is_err());
        assert!(check_pid(std::process::id()).is_ok());
    }
}
