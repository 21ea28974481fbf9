//! Starts the traced command: the child puts itself into the traced set
//! between fork and exec, so the kernel follows it from its first
//! instruction, then becomes the -u user, then execs.

use std::ffi::OsString;
use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::{map, User};

/// The command could not be started: the exit status `time` gives for it
/// (127 not found, 126 found but not runnable) and the line to print.
#[derive(Debug)]
pub struct CannotRun {
    pub code: u8,
    pub line: String,
}

impl fmt::Display for CannotRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.line)
    }
}

impl std::error::Error for CannotRun {}

/// The command while it runs, and how it ended once reaped.
pub struct Running {
    child: Child,
    /// its name as given, cleaned for showing
    pub name: String,
    started: Instant,
    ended: Option<Ended>,
}

/// How the command ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ended {
    pub name: String,
    pub status: ExitStatus,
    pub after: Duration,
}

impl Ended {
    /// The status tracer-tui exits with, as a shell reports it: the code,
    /// or 128 + the signal that killed it.
    pub fn exit_code(&self) -> u8 {
        match (self.status.code(), self.status.signal()) {
            (Some(code), _) => code as u8,
            (None, Some(signal)) => 128u8.wrapping_add(signal as u8),
            (None, None) => 1,
        }
    }

    /// "make exited with 2 after 3.2 s", "sleep killed by SIGTERM after 1.0 s".
    pub fn describe(&self) -> String {
        let after = super::seconds(self.after);
        match (self.status.code(), self.status.signal()) {
            (Some(code), _) => format!("{} exited with {code} after {after}", self.name),
            (None, Some(signal)) => {
                let core = if self.status.core_dumped() {
                    " (core dumped)"
                } else {
                    ""
                };
                format!(
                    "{} killed by {}{core} after {after}",
                    self.name,
                    crate::signals::label(signal as u32)
                )
            }
            (None, None) => format!("{} ended after {after}", self.name),
        }
    }
}

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// How it ended, once reaped.
    pub fn ended(&self) -> Option<&Ended> {
        self.ended.as_ref()
    }

    /// How it ended, if it has (reaped without blocking).
    pub fn try_reap(&mut self) -> Result<Option<&Ended>> {
        if self.ended.is_none() {
            if let Some(status) = self.child.try_wait().context("waiting for the command")? {
                self.record(status);
            }
        }
        Ok(self.ended.as_ref())
    }

    /// Waits for it to end.
    pub fn wait(&mut self) -> Result<&Ended> {
        if self.ended.is_none() {
            let status = self.child.wait().context("waiting for the command")?;
            self.record(status);
        }
        Ok(self.ended.as_ref().expect("recorded above"))
    }

    /// Asks it to end (SIGTERM), and kills it (SIGKILL) if it has not
    /// within `grace`; then reaps it.
    pub fn terminate(&mut self, grace: Duration) -> Result<&Ended> {
        if self.try_reap()?.is_none() {
            self.signal(libc::SIGTERM);
            let deadline = Instant::now() + grace;
            while self.try_reap()?.is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if self.ended.is_none() {
                self.signal(libc::SIGKILL);
            }
        }
        self.wait()
    }

    fn signal(&self, signal: i32) {
        // SAFETY: kill with our own unreaped child's pid (it cannot have
        // been reused) and a valid signal.
        unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
    }

    fn record(&mut self, status: ExitStatus) {
        self.ended = Some(Ended {
            name: self.name.clone(),
            status,
            after: self.started.elapsed(),
        });
    }
}

/// Starts `argv` with stdin, stdout and stderr inherited, in tracer-tui's
/// own mount namespace (the host's: tracefs is mounted by a helper child in
/// a namespace of its own). Returns once the exec has succeeded, so the
/// command is in the traced set by then.
pub fn spawn(argv: &[OsString], user: Option<&User>, traced: BorrowedFd) -> Result<Running> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| anyhow::anyhow!("no command given after --"))?;
    let name = crate::sanitize::visible(&program.to_string_lossy());
    let mut command = Command::new(program);
    command.args(args);
    let fd = traced.as_raw_fd();
    // everything the child uses is made here, before the fork
    let ids = user.map(|u| (u.uid, u.gid, u.groups.clone()));
    // SAFETY: the closure runs in the child between fork and exec, where
    // only async-signal-safe calls are allowed: it makes system calls on
    // data prepared above (a raw fd, ids, a vector allocated beforehand)
    // and allocates nothing. The map fd is open in the child (it was
    // inherited; it closes at exec).
    unsafe {
        command.pre_exec(move || {
            // first, so the kernel follows everything the command does, its
            // exec included; failing here fails the spawn
            map::insert(fd, libc::getpid() as u32)?;
            if let Some((uid, gid, groups)) = &ids {
                // groups and gid while still root, the uid last
                if libc::setgroups(groups.len(), groups.as_ptr()) != 0
                    || libc::setgid(*gid) != 0
                    || libc::setuid(*uid) != 0
                {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let child = command.spawn().map_err(|e| cannot_run(&name, &e))?;
    Ok(Running {
        child,
        name,
        started: Instant::now(),
        ended: None,
    })
}

fn cannot_run(name: &str, e: &io::Error) -> anyhow::Error {
    let (code, why) = match e.kind() {
        io::ErrorKind::NotFound => (127, "command not found".to_string()),
        io::ErrorKind::PermissionDenied => (126, "permission denied".to_string()),
        _ => (126, crate::write_error::reason(e)),
    };
    anyhow::Error::new(CannotRun {
        code,
        line: format!("cannot run {name}: {why}"),
    })
}
