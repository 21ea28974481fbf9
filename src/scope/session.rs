//! One run's scope from start to end: what is traced, the command started
//! for it, and the per-command totals for --summary.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};

use super::{check_pid, check_privilege, lookup_user, spawn, BackendScope, Running, Target, User};
use crate::backend::{Backend, Command};
use crate::cli::Cli;
use crate::summary::Summary;

/// How long a command asked to end (SIGTERM, when the dashboard quits
/// while it runs) has before it is killed.
pub const TERMINATE_GRACE: Duration = Duration::from_secs(3);

pub struct Session {
    pub target: Target,
    user: Option<User>,
    /// the command, once started
    pub command: Option<Running>,
    /// the kernel's per-command totals as they arrive
    pub summary: Summary,
    started: Instant,
}

impl Session {
    /// Checks what can be checked before anything starts: the -u user and
    /// the privilege to become it, the --pid process.
    pub fn prepare(cli: &Cli) -> Result<Session> {
        let target = cli.target();
        // the kernel program knows processes by their pids in the host's
        // namespace; a pid from another one would name a stranger
        if target.scoped() && !crate::procfs::in_initial_pid_namespace() {
            bail!(
                "-- COMMAND and --pid need tracer-tui in the host's pid namespace \
                 (run it outside the container, or trace the whole host)"
            );
        }
        let user = match &target {
            Target::Command {
                user: Some(name), ..
            } => {
                let user = lookup_user(name)?;
                check_privilege(&user)?;
                Some(user)
            }
            _ => None,
        };
        if let Target::Pid(pid) = target {
            check_pid(pid)?;
        }
        Ok(Session {
            target,
            user,
            command: None,
            summary: Summary::default(),
            started: Instant::now(),
        })
    }

    /// What the backend must know before it starts.
    pub fn backend_scope(&self) -> BackendScope {
        BackendScope {
            roots: match self.target {
                Target::Pid(pid) => vec![pid],
                _ => Vec::new(),
            },
        }
    }

    /// Starts the command, if there is one, once the backend runs; with
    /// `end_with_tree`, asks the backend to end when everything traced
    /// has ended (the root is in the traced set by then: the command put
    /// itself in before its exec; a --pid went in as the backend started).
    pub fn start(&mut self, backend: &Backend, end_with_tree: bool) -> Result<()> {
        self.started = Instant::now();
        if let Target::Command { argv, .. } = &self.target {
            let traced = backend
                .traced_map()
                .ok_or_else(|| anyhow!("the kernel program was loaded without a traced set"))?;
            self.command = Some(spawn(argv, self.user.as_ref(), traced)?);
        }
        if end_with_tree && self.target.scoped() {
            backend.send(Command::EndWhenUntraced)?;
        }
        Ok(())
    }

    /// Waits for the command (if any) to end, as `time` does.
    pub fn wait(&mut self) -> Result<()> {
        if let Some(command) = &mut self.command {
            command.wait()?;
        }
        Ok(())
    }

    /// For --pid: what the header says once the process has ended.
    pub fn pid_ended(&self) -> Option<String> {
        match self.target {
            Target::Pid(pid) if !crate::procfs::exists(pid) => Some(format!("pid {pid} has ended")),
            _ => None,
        }
    }

    /// Ends the command if it still runs (SIGTERM, then SIGKILL after the
    /// grace), so that no failure leaves it behind untraced.
    pub fn end_command(&mut self) -> Result<()> {
        if let Some(command) = &mut self.command {
            command.terminate(TERMINATE_GRACE)?;
        }
        Ok(())
    }

    /// The status tracer-tui exits with: the command's, else 0.
    pub fn exit_code(&self) -> u8 {
        self.ended().map_or(0, |e| e.exit_code())
    }

    fn ended(&self) -> Option<&super::Ended> {
        self.command.as_ref().and_then(Running::ended)
    }

    /// The --summary table for the run so far.
    pub fn summary_text(&self) -> String {
        let ending = self.ended().map(|e| e.describe());
        self.summary
            .render(self.started.elapsed(), ending.as_deref())
    }
}
