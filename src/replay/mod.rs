//! The replay source: a recorded NDJSON file played back with its own
//! timing, or a stream (stdin, a FIFO) followed as its lines arrive,
//! feeding the dashboard the same messages as the kernel does.
//!
//! Nothing is held but a line and a batch: a file is checked to its end
//! first (with progress shown), then read again as it plays.

mod lines;
mod play;
mod scan;

use std::fs::{File, OpenOptions};
use std::io::{IsTerminal, Seek};
use std::os::fd::AsFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::source::{Message, ReplayPosition, ReplayStage};
use lines::LineReader;
use play::{Credit, Out};
use scan::{Scan, Summary};

pub use lines::MAX_LINE;
pub use play::{BATCH, WINDOW};

/// How long the check of a file may run before the screen opens: a small
/// file is checked whole, so a bad line is a plain error on the terminal.
const BEFORE_SCREEN: Duration = Duration::from_millis(100);
/// How often loading progress is shown.
const PROGRESS: Duration = Duration::from_millis(100);

/// A replay input, opened and checked as far as it can be at once.
pub struct Replay {
    /// the file's name for messages (`stdin` for `-`), made visible
    pub name: String,
    input: Input,
}

enum Input {
    /// A regular file, part checked.
    Loading(Scan),
    /// A regular file checked whole.
    Checked(File, Summary),
    /// A pipe, FIFO or device: followed.
    Stream(LineReader),
}

impl Replay {
    /// True when the input is followed as it arrives, rather than played.
    pub fn follows(&self) -> bool {
        matches!(self.input, Input::Stream(_))
    }
}

/// Opens `path` (`-` is stdin) without blocking on a FIFO that has no
/// writer, and checks what can be checked at once: a regular file for up to
/// `BEFORE_SCREEN`, and whatever a stream has already delivered.
pub fn open(path: &Path) -> Result<Replay> {
    let (file, name) = if path == Path::new("-") {
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            bail!(
                "--replay - reads a recording from stdin, which is a terminal here: \
                 pipe one in (ssh HOST sudo tracer-tui --json | tracer-tui --replay -)"
            );
        }
        let fd = stdin
            .as_fd()
            .try_clone_to_owned()
            .context("reading stdin")?;
        (File::from(fd), "stdin".to_string())
    } else {
        let name = crate::sanitize::visible(&path.display().to_string());
        // O_NONBLOCK: opening a FIFO must not wait for its writer
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .with_context(|| format!("reading {name}"))?;
        (file, name)
    };
    let meta = file.metadata().with_context(|| format!("reading {name}"))?;
    let kind = meta.file_type();
    if kind.is_dir() {
        bail!("{name} is a directory, not a recording");
    }
    if kind.is_file() {
        let mut scan = Scan::new(file, meta.len(), name.clone());
        let input = match scan.step(BEFORE_SCREEN).map_err(anyhow::Error::msg)? {
            Some(summary) => Input::Checked(scan.into_file(), summary),
            None => Input::Loading(scan),
        };
        return Ok(Replay { name, input });
    }
    if kind.is_fifo() || kind.is_char_device() || kind.is_socket() {
        blocking(&file).with_context(|| format!("reading {name}"))?;
    }
    let mut reader = LineReader::new(file, true, None);
    reader
        .check_ready(BEFORE_SCREEN)
        .map_err(|r| anyhow::anyhow!("{name}:{}: {}", r.0, r.1))?;
    Ok(Replay {
        name,
        input: Input::Stream(reader),
    })
}

/// Clears O_NONBLOCK, set only so that opening a FIFO would not wait: reads
/// follow a poll, and a blocking read then returns what arrived.
fn blocking(file: &File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: F_GETFL and F_SETFL on an fd this File owns; no memory is passed.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The dashboard's side of a running replay: it says when it has taken
/// events in, so the replay sends no more than `WINDOW` ahead.
pub struct Feed(Arc<Credit>);

impl Feed {
    /// Called with how many of the replay's events the App has applied.
    pub fn applied(&self, events: usize) {
        self.0.release(events);
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// Plays (or follows) `replay` at `speed` times the recorded pace.
pub fn start<E>(replay: Replay, speed: f64, tx: Sender<E>) -> Result<Feed>
where
    E: From<Message> + Send + 'static,
{
    let credit = Arc::new(Credit::default());
    let theirs = Arc::clone(&credit);
    thread::Builder::new()
        .name("replay".into())
        .spawn(move || {
            let send = |m: Message| tx.send(E::from(m)).is_ok();
            let out = Out {
                send: &send,
                credit: &theirs,
            };
            let run =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(replay, speed, &out)));
            match run {
                Ok(Ok(true)) => {
                    send(Message::End);
                }
                Ok(Ok(false)) => {}
                Ok(Err(e)) => {
                    send(Message::Failed(e));
                }
                Err(_) => {
                    send(Message::Failed("the replay thread panicked".into()));
                }
            }
        })
        .context("starting the replay thread")?;
    Ok(Feed(credit))
}

/// Ok(true): the input was delivered to its end.
fn run(replay: Replay, speed: f64, out: &Out) -> Result<bool, String> {
    let Replay { name, input } = replay;
    let (mut file, summary) = match input {
        Input::Stream(reader) => return play::stream(reader, &name, out),
        Input::Checked(file, summary) => (file, summary),
        Input::Loading(mut scan) => loop {
            let (done, total) = scan.progress();
            let loading = ReplayPosition {
                stage: ReplayStage::Loading { done, total },
                ..Default::default()
            };
            if !(out.send)(Message::Clock(loading)) {
                return Ok(false);
            }
            if let Some(summary) = scan.step(PROGRESS)? {
                break (scan.into_file(), summary);
            }
        },
    };
    if let Some(warning) = &summary.cut {
        if !(out.send)(Message::Warning(warning.clone())) {
            return Ok(false);
        }
    }
    file.rewind()
        .map_err(|e| format!("reading {name} again: {e}"))?;
    let reader = LineReader::new(file, false, Some(summary.length));
    play::file(reader, &name, &summary, speed, out)
}

/// Checks a whole file as `--replay` would before playing it: the number
/// of events, or the one-line error. For tests and tools.
pub fn check(path: &Path) -> Result<u64> {
    let replay = open(path)?;
    let name = replay.name;
    match replay.input {
        Input::Checked(_, summary) => Ok(summary.events),
        Input::Loading(mut scan) => loop {
            if let Some(summary) = scan
                .step(Duration::from_secs(1))
                .map_err(anyhow::Error::msg)?
            {
                return Ok(summary.events);
            }
        },
        Input::Stream(_) => bail!("{name} is not a regular file"),
    }
}

#[cfg(test)]
mod tests;
