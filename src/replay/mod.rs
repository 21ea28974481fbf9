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
        .check_ready()
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
    /// Called for every message the dashboard takes from the replay.
    pub fn taken(&self, message: &Message) {
        if let Message::Events(events) = message {
            self.0.release(events.len());
        }
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
mod tests {
    use super::*;
    use crate::event::{Origin, ProcessInfo, TraceEvent, WallTime};
    use crate::record;
    use std::io::Write;
    use std::sync::mpsc;
    use std::time::Instant;

    fn exec(pid: u32, t: u64, origin: Origin) -> TraceEvent {
        TraceEvent::Exec(ProcessInfo {
            pid,
            start: WallTime(t),
            exec_time: WallTime(t),
            origin,
            ..Default::default()
        })
    }

    /// A recording of `events`.
    fn file(events: &[TraceEvent]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        for e in events {
            writeln!(f, "{}", record::to_line(e)).unwrap();
        }
        f
    }

    /// Every message a replay of `events` sends, to its end, taking each
    /// in as the dashboard does.
    fn replay_messages(events: Vec<TraceEvent>, speed: f64) -> Vec<Message> {
        let f = file(&events);
        let (tx, rx) = mpsc::channel::<Message>();
        let feed = start(open(f.path()).unwrap(), speed, tx).unwrap();
        let mut messages = Vec::new();
        while !messages.contains(&Message::End) {
            let m = rx.recv_timeout(Duration::from_secs(5)).unwrap();
            feed.taken(&m);
            messages.push(m);
        }
        // nothing after the end: the clock has stopped and the thread is done
        assert_eq!(
            rx.recv_timeout(Duration::from_millis(600)),
            Err(mpsc::RecvTimeoutError::Disconnected),
            "the replay went on after its end"
        );
        messages
    }

    fn positions(messages: &[Message]) -> Vec<ReplayPosition> {
        messages
            .iter()
            .filter_map(|m| match m {
                Message::Clock(p) => Some(*p),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_clock_stops_at_the_last_event() {
        let s = 1_000_000_000;
        // the last event in the file is not the latest: a late exec
        let events = vec![
            exec(1, 5 * s, Origin::Proc),
            exec(2, 100 * s, Origin::Exec),
            exec(3, 102 * s, Origin::Exec),
            exec(4, 101 * s, Origin::Exec),
        ];
        let messages = replay_messages(events, 10_000.0);
        let positions = positions(&messages);
        let (first, last) = (WallTime(100 * s), WallTime(102 * s));
        assert!(positions.iter().all(|p| p.first == first && p.last == last));
        assert!(
            positions.iter().all(|p| p.clock <= last),
            "the clock ran past the last event: {positions:?}"
        );
        assert!(positions.windows(2).all(|w| w[0].clock <= w[1].clock));
        assert_eq!(positions[0].percent(), 0);
        let end = positions.last().unwrap();
        assert_eq!((end.clock, end.percent()), (last, 100));
        assert_eq!(messages.last(), Some(&Message::End));
    }

    /// The App fed by a replay: after the end, a live row's age and the
    /// header's position stay put, however fast the replay ran.
    #[test]
    fn after_the_end_the_app_shows_the_end_and_ages_stop() {
        use crate::app::{fixtures, App, AppConfig, HostInfo};
        use ratatui::{backend::TestBackend, layout::Rect, Terminal};
        let start = fixtures::T0;
        let s = fixtures::SEC;
        let mut long = fixtures::process(7, "longrunner", 0);
        long.start = WallTime(start);
        let events = vec![
            TraceEvent::Exec(long),
            exec(8, start + 90 * s, Origin::Exec),
        ];
        let mut app = App::new(AppConfig {
            filter_in_app: true,
            host: HostInfo {
                source: "replay rec.ndjson".into(),
                ..Default::default()
            },
            ..fixtures::config()
        });
        for m in replay_messages(events, 10_000.0) {
            app.apply(m);
        }
        let age = |app: &App| app.now.0 - app.live_row(7).unwrap().info.start.0;
        assert_eq!(age(&app), 90 * s);
        assert!(app.source_ended);
        assert_eq!(app.replay_position.map(|p| p.percent()), Some(100));

        let mut terminal = Terminal::new(TestBackend::new(120, 30)).unwrap();
        let viewport = crate::ui::viewport(Rect::new(0, 0, 120, 30), &app);
        app.prepare(&viewport);
        terminal.draw(|f| crate::ui::draw(f, &app)).unwrap();
        let screen: String = terminal
            .backend()
            .buffer()
            .content()
            .iter()
            .map(|c| c.symbol())
            .collect();
        // T0 is 22:13:20 UTC; the last event is 90 s later
        assert!(screen.contains("replay finished 22:14:50 100%"), "{screen}");
        assert!(screen.contains("1m30s"), "the live row's age: {screen}");
    }

    #[test]
    fn the_header_shows_the_position_while_playing() {
        use crate::app::{fixtures, App};
        let mut app = App::new(fixtures::config());
        let s = fixtures::SEC;
        app.apply(Message::Clock(ReplayPosition {
            clock: WallTime(fixtures::T0 + 37 * s),
            first: WallTime(fixtures::T0),
            last: WallTime(fixtures::T0 + 100 * s),
            stage: ReplayStage::Playing,
        }));
        assert_eq!(app.now, WallTime(fixtures::T0 + 37 * s));
        let mut terminal =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 30)).unwrap();
        terminal.draw(|f| crate::ui::draw(f, &app)).unwrap();
        let top: String = terminal.backend().buffer().content()[..120]
            .iter()
            .map(|c| c.symbol())
            .collect();
        assert!(top.contains("  replay 22:13:57 37%"), "{top}");
        assert!(!top.contains("finished"), "{top}");
    }

    #[test]
    fn bad_line_is_named() {
        let mut f = file(&[exec(1, 1, Origin::Exec)]);
        writeln!(f).unwrap();
        writeln!(f, "{{\"event\":\"exec\"").unwrap();
        let err = check(f.path()).unwrap_err().to_string();
        assert!(
            err.ends_with(
                ":3: not a tracer-tui record: EOF while parsing an object at line 1 column 15"
            ),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1);
    }

    #[test]
    fn empty_and_missing_files_are_errors() {
        let f = tempfile::NamedTempFile::new().unwrap();
        assert!(check(f.path())
            .unwrap_err()
            .to_string()
            .contains("no events"));
        assert!(open(Path::new("/nonexistent/file")).is_err());
        let dir = tempfile::tempdir().unwrap();
        assert!(open(dir.path())
            .err()
            .unwrap()
            .to_string()
            .ends_with("is a directory, not a recording"));
    }

    #[test]
    fn a_last_line_cut_mid_write_is_left_out_with_a_warning() {
        let mut f = file(&[exec(1, 1, Origin::Exec), exec(2, 2, Origin::Exec)]);
        let third = record::to_line(&exec(3, 3, Origin::Exec));
        write!(f, "{}", &third[..third.len() / 2]).unwrap();
        assert_eq!(check(f.path()).unwrap(), 2);
        let messages = messages_of(f.path(), 10_000.0);
        let warning = messages.iter().find_map(|m| match m {
            Message::Warning(w) => Some(w.clone()),
            _ => None,
        });
        let warning = warning.expect("a warning");
        assert!(
            warning.ends_with(":3: the last line is cut short (EOF while parsing a string at line 1 column 76); replaying the lines before it")
                || warning.contains(":3: the last line is cut short ("),
            "{warning}"
        );
        assert_eq!(warning.lines().count(), 1);
        assert_eq!(pids(&messages), [1, 2]);
        // a last line that is whole but has no newline is played
        let mut f = file(&[exec(1, 1, Origin::Exec)]);
        write!(f, "{third}").unwrap();
        assert_eq!(pids(&messages_of(f.path(), 10_000.0)), [1, 3]);
        // a file of one cut line has nothing to replay
        let mut f = tempfile::NamedTempFile::new().unwrap();
        write!(f, "{}", &third[..10]).unwrap();
        let err = check(f.path()).unwrap_err().to_string();
        assert!(err.contains(":1: the last line is cut short"), "{err}");
    }

    fn messages_of(path: &Path, speed: f64) -> Vec<Message> {
        let (tx, rx) = mpsc::channel::<Message>();
        let feed = start(open(path).unwrap(), speed, tx).unwrap();
        let mut messages = Vec::new();
        while !messages.contains(&Message::End) {
            let m = rx.recv_timeout(Duration::from_secs(5)).unwrap();
            feed.taken(&m);
            messages.push(m);
        }
        messages
    }

    fn pids(messages: &[Message]) -> Vec<u32> {
        messages
            .iter()
            .filter_map(|m| match m {
                Message::Events(batch) => Some(batch),
                _ => None,
            })
            .flatten()
            .map(|e| match e {
                TraceEvent::Exec(p) => p.pid,
                TraceEvent::Exit(x) => x.process.pid,
                _ => 0,
            })
            .collect()
    }

    /// Events due at one moment go out in batches of BATCH, and no more
    /// than WINDOW wait for the dashboard to take them in.
    #[test]
    fn a_huge_batch_is_sent_in_bounded_pieces() {
        let n = 5 * WINDOW + 7;
        let events: Vec<TraceEvent> = (0..n as u32)
            .map(|i| exec(i + 1, 5, Origin::Exec))
            .collect();
        let f = file(&events);
        let (tx, rx) = mpsc::channel::<Message>();
        let feed = start(open(f.path()).unwrap(), 1.0, tx).unwrap();
        let mut got = 0;
        let mut ended = false;
        while !ended {
            // the dashboard is slow: what waits for it stays within the window
            std::thread::sleep(Duration::from_millis(5));
            let waiting: Vec<Message> = rx.try_iter().collect();
            let queued: usize = waiting
                .iter()
                .map(|m| match m {
                    Message::Events(b) => b.len(),
                    _ => 0,
                })
                .sum();
            assert!(queued <= WINDOW, "{queued} events queued");
            for m in waiting {
                if let Message::Events(b) = &m {
                    assert!(b.len() <= BATCH);
                    got += b.len();
                }
                ended |= m == Message::End;
                feed.taken(&m);
            }
        }
        assert_eq!(got, n);
    }

    /// A stream is followed: events arrive as lines do, the position says
    /// so, and the end of the stream ends the replay.
    #[test]
    fn a_pipe_is_followed_as_lines_arrive() {
        let (r, mut w) = std::io::pipe().unwrap();
        let reader = LineReader::new(File::from(std::os::fd::OwnedFd::from(r)), true, None);
        let replay = Replay {
            name: "stdin".into(),
            input: Input::Stream(reader),
        };
        let (tx, rx) = mpsc::channel::<Message>();
        let feed = start(replay, 1.0, tx).unwrap();
        let next_events = |rx: &mpsc::Receiver<Message>| loop {
            let m = rx.recv_timeout(Duration::from_secs(5)).unwrap();
            feed.taken(&m);
            match m {
                Message::Events(b) => return b,
                Message::Clock(p) => assert_eq!(p.stage, ReplayStage::Following),
                other => panic!("{other:?}"),
            }
        };
        writeln!(w, "{}", record::to_line(&exec(7, 1_000, Origin::Exec))).unwrap();
        assert_eq!(next_events(&rx), [exec(7, 1_000, Origin::Exec)]);
        writeln!(w, "{}", record::to_line(&exec(8, 2_000, Origin::Exec))).unwrap();
        assert_eq!(next_events(&rx), [exec(8, 2_000, Origin::Exec)]);
        drop(w);
        let rest: Vec<Message> =
            std::iter::from_fn(|| rx.recv_timeout(Duration::from_secs(5)).ok()).collect();
        assert_eq!(rest.last(), Some(&Message::End));
        let Some(Message::Clock(p)) = rest.iter().rev().nth(1) else {
            panic!("{rest:?}")
        };
        // the clock stops at the newest event
        assert_eq!((p.clock, p.first), (WallTime(2_000), WallTime(1_000)));
    }

    #[test]
    fn plays_in_order_with_time() {
        let s = 1_000_000_000;
        let f = file(&[
            exec(1, 5 * s, Origin::Proc),
            exec(2, 100 * s, Origin::Exec),
            exec(3, 100 * s + 50_000_000, Origin::Exec),
        ]);
        let started = Instant::now();
        let messages = messages_of(f.path(), 1.0);
        assert_eq!(pids(&messages), [1, 2, 3]);
        assert!(
            started.elapsed() >= Duration::from_millis(50),
            "recorded pace kept"
        );
        // processes running before the recording began do not start the clock
        assert_eq!(positions(&messages)[0].clock, WallTime(100 * s));
    }

    /// The largest pid a file can hold is drawn whole, in both tables.
    #[test]
    fn the_largest_pid_is_shown_in_full() {
        use crate::app::{fixtures, App};
        use crate::event::ExitInfo;
        let mut app = App::new(fixtures::config());
        let mut live = fixtures::process(u32::MAX, "live", 0);
        live.ppid = u32::MAX - 1;
        let mut gone = fixtures::process(u32::MAX - 2, "gone", 0);
        gone.ppid = u32::MAX - 3;
        let exit = TraceEvent::Exit(ExitInfo {
            end: WallTime(gone.start.0 + 1),
            exit_comm: "gone".into(),
            process: gone,
            ..Default::default()
        });
        app.apply(Message::Events(vec![TraceEvent::Exec(live), exit]));
        let mut terminal =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 30)).unwrap();
        let viewport = crate::ui::viewport(ratatui::layout::Rect::new(0, 0, 160, 30), &app);
        app.prepare(&viewport);
        terminal.draw(|f| crate::ui::draw(f, &app)).unwrap();
        let screen: String = terminal
            .backend()
            .buffer()
            .content()
            .iter()
            .map(|c| c.symbol())
            .collect();
        for pid in [u32::MAX, u32::MAX - 1, u32::MAX - 2, u32::MAX - 3] {
            assert!(screen.contains(&pid.to_string()), "{pid}: {screen}");
        }
    }
}
