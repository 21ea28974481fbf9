//! Job control for the dashboard: Ctrl-Z and SIGTSTP suspend it as less
//! and vim do, and SIGCONT brings it back.
//!
//! In raw mode the terminal sends Ctrl-Z as a key rather than a signal, and
//! a SIGTSTP's default action would stop the process with the terminal
//! still in the alternate screen, raw and reporting the mouse. So both
//! arrive in the loop as events; the loop gives the terminal back first,
//! then stops the process group, and takes the terminal again once
//! continued.

use std::sync::mpsc::Sender;
use std::thread;

use anyhow::{Context, Result};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use signal_hook::consts::{SIGCONT, SIGTSTP};
use signal_hook::iterator::{Handle, Signals};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Job {
    /// Ctrl-Z or SIGTSTP: give the terminal back, then stop
    Suspend,
    /// SIGCONT: the screen may have been written over; draw it all again
    Continued,
}

/// Ctrl-Z, as a terminal in raw mode reports it.
pub fn is_suspend_key(key: &KeyEvent) -> bool {
    key.kind == KeyEventKind::Press
        && key.modifiers.contains(KeyModifiers::CONTROL)
        && matches!(key.code, KeyCode::Char('z' | 'Z'))
}

/// Turns SIGTSTP and SIGCONT into events on `tx` until the handle is closed.
pub fn watch<E>(tx: Sender<E>) -> Result<Handle>
where
    E: From<Job> + Send + 'static,
{
    let mut signals =
        Signals::new([SIGTSTP, SIGCONT]).context("installing job-control handlers")?;
    let handle = signals.handle();
    thread::Builder::new()
        .name("job-control".into())
        .spawn(move || {
            for signal in signals.forever() {
                let job = if signal == SIGTSTP {
                    Job::Suspend
                } else {
                    Job::Continued
                };
                if tx.send(E::from(job)).is_err() {
                    break;
                }
            }
        })
        .context("starting the job-control thread")?;
    Ok(handle)
}

/// Stops the process group, as the terminal's own Ctrl-Z would (the shell
/// sees the job stop, and `sudo` in front of it stops too); returns once
/// continued. SIGSTOP, because SIGTSTP is caught here.
pub fn stop() {
    // SAFETY: kill has no memory effects; 0 is this process's group.
    unsafe { libc::kill(0, libc::SIGSTOP) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctrl_z_suspends_and_z_does_not() {
        let key = |c, m| KeyEvent::new(KeyCode::Char(c), m);
        assert!(is_suspend_key(&key('z', KeyModifiers::CONTROL)));
        assert!(!is_suspend_key(&key('z', KeyModifiers::NONE)));
        assert!(!is_suspend_key(&key('c', KeyModifiers::CONTROL)));
    }
}
