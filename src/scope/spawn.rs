//! Starts the traced command: the child puts itself into the traced set
//! between fork and exec, so the kernel follows it from its first
//! instruction, then becomes the -u user, then execs.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
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

    pub fn signal(&self, signal: i32) {
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

/// A command never outlives tracer-tui untraced, also when a panic unwinds
/// past the code that would end it.
impl Drop for Running {
    fn drop(&mut self) {
        if self.ended.is_none() {
            let _ = self.terminate(super::TERMINATE_GRACE);
        }
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
    // found here rather than by execvp in the child: its search would show
    // as a failed exec for every PATH directory without the program
    let path = resolve(program, std::env::var_os("PATH").as_deref()).map_err(|code| {
        let why = if code == 127 {
            "command not found"
        } else {
            "permission denied"
        };
        anyhow::Error::new(CannotRun {
            code,
            line: format!("cannot run {name}: {why}"),
        })
    })?;
    let mut command = Command::new(path);
    command.arg0(program).args(args);
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

/// Where execvp would find `program`: itself when it holds a slash, else
/// the first executable regular file of that name in a PATH directory (an
/// empty entry is the current directory). Err(127) when there is none,
/// Err(126) when only files that cannot be executed were found.
fn resolve(program: &OsStr, path: Option<&OsStr>) -> Result<PathBuf, u8> {
    if program.as_bytes().contains(&b'/') {
        return Ok(PathBuf::from(program));
    }
    if program.is_empty() {
        return Err(127);
    }
    let path = path.unwrap_or(OsStr::new("/usr/local/bin:/usr/bin:/bin"));
    let mut denied = false;
    for dir in path.as_bytes().split(|&b| b == b':') {
        let dir = if dir.is_empty() {
            Path::new(".")
        } else {
            Path::new(OsStr::from_bytes(dir))
        };
        let candidate = dir.join(program);
        match std::fs::metadata(&candidate) {
            Ok(meta) if meta.is_file() => {
                if executable(&candidate) {
                    return Ok(candidate);
                }
                denied = true;
            }
            _ => {}
        }
    }
    Err(if denied { 126 } else { 127 })
}

fn executable(path: &Path) -> bool {
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: c is a valid NUL-terminated path for the call's duration.
    unsafe { libc::access(c.as_ptr(), libc::X_OK) == 0 }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_found_as_execvp_would() {
        let path = OsStr::new("/nonexistent::/usr/bin:/bin");
        assert_eq!(
            resolve(OsStr::new("sh"), Some(path)),
            Ok(PathBuf::from("/usr/bin/sh"))
        );
        assert_eq!(
            resolve(OsStr::new("./x"), Some(path)),
            Ok(PathBuf::from("./x"))
        );
        assert_eq!(
            resolve(OsStr::new("no-such-program-here"), Some(path)),
            Err(127)
        );
        assert_eq!(resolve(OsStr::new(""), Some(path)), Err(127));
        // a file without execute permission, found on the path
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("plain"), "").unwrap();
        let only = dir.path().as_os_str();
        assert_eq!(resolve(OsStr::new("plain"), Some(only)), Err(126));
    }
}
