//! The dashboard's loop: one channel of events in (source messages, terminal
//! input), the App updated, actions carried out, frames drawn.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use ratatui::crossterm::event::{self as term, Event as TermEvent};
use ratatui::layout::Rect;

use crate::app::{Action, App, AppConfig, HostInfo, Viewport};
use crate::backend::{Backend, BackendConfig, Command};
use crate::backlog::Backlog;
use crate::cli::Cli;
use crate::event::WallTime;
use crate::intake::Intake;
use crate::job_control::{self, Job};
use crate::recorder::Recorder;
use crate::safe_file::Owner;
use crate::scope::{Session, Target, TERMINATE_GRACE};
use crate::source::Message;
use crate::terminal::Screen;
use crate::{clock, host, replay, ui, users};

/// Everything the loop waits on.
pub enum Event {
    Source(Message),
    Input(TermEvent),
    InputFailed(String),
    Job(Job),
}

impl From<Job> for Event {
    fn from(j: Job) -> Self {
        Event::Job(j)
    }
}

impl From<Message> for Event {
    fn from(m: Message) -> Self {
        Event::Source(m)
    }
}

/// A frame at most this often while trace events stream in (a key press is
/// drawn at once): under an exec storm, frames cost the traced machine CPU.
const FRAME: Duration = Duration::from_millis(100);
/// And at least this often, so ages and rates move.
const IDLE_FRAME: Duration = Duration::from_millis(500);
/// Most time spent taking in events before a frame is drawn.
const DRAIN_BUDGET: Duration = Duration::from_millis(20);

/// `metrics`: the --metrics exporter's feed, for the backend.
pub fn run(
    cli: &Cli,
    quit: &AtomicBool,
    session: &mut Session,
    metrics: Option<crate::metrics::Feed>,
) -> Result<()> {
    let (tx, rx) = mpsc::channel::<Event>();
    // bounds what waits between the kernel and the screen: a terminal
    // stopped by XOFF makes the kernel drop and count, not memory grow
    let backlog = Backlog::default();
    // everything that can fail with a plain message fails before the screen changes
    let users = users::load(Path::new("/etc/passwd"));
    // opened before anything is attached, so a bad path (a symlink, a FIFO,
    // someone else's file) is refused at once; written only once the run
    // has begun, so a failed start leaves an old file as it was
    let mut recorder = match &cli.record {
        Some(path) => Some(Recorder::open(path, cli.force, Owner::from_env()?)?),
        None => None,
    };
    let mut feed = None;
    let (backend, host, filter_in_app) = match &cli.replay {
        Some(path) => {
            // opened and checked as far as it can be at once: a file that is
            // not a recording is refused here, before the screen changes
            let input = replay::open(path)?;
            let host = HostInfo {
                source: format!("replay {}", input.name),
                utc_offset_secs: host::utc_offset_secs(),
                ..Default::default()
            };
            feed = Some(replay::start(input, cli.speed, tx.clone())?);
            (None, host, true)
        }
        None => {
            let config = BackendConfig {
                backlog: Some(backlog.clone()),
                scope: session.backend_scope(),
                metrics,
                ..BackendConfig::new(cli.load_options(), cli.min_duration)
            };
            let backend = Backend::start(config, tx.clone())?;
            (Some(backend), host::this_host("live".into()), false)
        }
    };
    let mut app = App::new(AppConfig {
        max_finished: cli.max_finished as usize,
        min_duration: cli.min_duration,
        filter_in_app,
        users,
        host,
    });
    if backend.is_some() {
        app.tick(WallTime(clock::wall_ns()));
    }
    if session.target.scoped() {
        app.open_tree();
    }

    // the dashboard draws to stdout: without a terminal there, say so in
    // terms of the flags given, rather than draw into a pipe
    let needs_terminal = needs_terminal(cli);
    if !std::io::stdout().is_terminal() {
        bail!("{needs_terminal}");
    }
    // started once the dashboard surely runs; it stays open after the
    // tree has ended, to be read
    if let Some(backend) = &backend {
        session.start(backend, false)?;
        app.scope_line = scope_line(session);
    }
    let mut screen = Screen::enter().context(needs_terminal)?;
    if let Some(r) = &mut recorder {
        r.start()?;
    }
    // a recording that failed: the run goes on, and ends with its error
    let mut record_failure = None;
    let input_stop = Arc::new(AtomicBool::new(false));
    let job_control = job_control::watch(tx.clone())?;
    spawn_input(tx, Arc::clone(&input_stop))?;
    // source messages not yet applied: a huge batch is applied in slices
    let mut intake = Intake::default();

    let mut viewport = Viewport::default();
    let mut last_frame: Option<Instant> = None;
    let mut dirty = true;
    // a key or mouse event: draw without waiting for the frame interval
    let mut urgent = false;
    let result = loop {
        if quit.load(Ordering::Relaxed) {
            break Ok(());
        }
        if let Some(reason) = &app.failure {
            break Err(anyhow!("{reason}"));
        }
        let wait = match last_frame {
            _ if urgent || !intake.is_empty() => Duration::ZERO,
            Some(t) if dirty => FRAME.saturating_sub(t.elapsed()),
            Some(t) => IDLE_FRAME.saturating_sub(t.elapsed()),
            None => Duration::ZERO,
        };
        let mut stop = None;
        let mut job = None;
        let received = if intake.is_empty() {
            rx.recv_timeout(wait.max(Duration::from_millis(1)))
        } else {
            // a batch is still being applied: take what came (keys are
            // handled at once) without waiting
            rx.try_recv().map_err(|e| match e {
                mpsc::TryRecvError::Empty => RecvTimeoutError::Timeout,
                mpsc::TryRecvError::Disconnected => RecvTimeoutError::Disconnected,
            })
        };
        match received {
            Ok(first) => {
                let started = Instant::now();
                let mut next = Some(first);
                while let Some(event) = next.take() {
                    dirty = true;
                    if let Event::Source(message) = &event {
                        session.summary.observe(message);
                    }
                    urgent |= !matches!(event, Event::Source(_));
                    job = match &event {
                        Event::Job(j) => Some(*j),
                        Event::Input(TermEvent::Key(k)) if job_control::is_suspend_key(k) => {
                            Some(Job::Suspend)
                        }
                        _ => None,
                    };
                    if job.is_some() {
                        break;
                    }
                    if let Some(s) = handle(
                        event,
                        &mut app,
                        backend.as_ref(),
                        (&mut recorder, &mut record_failure),
                        &mut intake,
                        &viewport,
                    ) {
                        stop = Some(s);
                        break;
                    }
                    if started.elapsed() < DRAIN_BUDGET {
                        next = rx.try_recv().ok();
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                break Err(anyhow!("every event source has stopped"))
            }
        }
        if let Some(s) = stop {
            break s;
        }
        if !intake.is_empty() {
            dirty = true;
            let applied = intake.apply(&mut app, DRAIN_BUDGET);
            backlog.taken(applied);
            // the replay sends more only as the App takes events in, so
            // the intake's queue stays within the replay's window
            if let Some(feed) = &feed {
                feed.applied(applied);
            }
        }
        if let Some(job) = job {
            let done = match job {
                // the terminal goes back to the shell before the stop, and
                // is taken again (and drawn anew) once continued
                Job::Suspend => screen.suspend().and_then(|()| {
                    job_control::stop();
                    screen.resume()
                }),
                Job::Continued => screen.redraw(),
            };
            if let Err(e) = done {
                break Err(e);
            }
        }
        if backend.is_some() {
            app.tick(WallTime(clock::wall_ns()));
        }
        if let Some(line) = session.pid_ended() {
            if app.scope_line.as_deref() != Some(line.as_str()) {
                app.scope_line = Some(line);
                dirty = true;
            }
        }
        if let Some(command) = session.command.as_mut().filter(|c| c.ended().is_none()) {
            match command.try_reap() {
                Ok(Some(ended)) => {
                    app.scope_line = Some(ended.describe());
                    dirty = true;
                }
                Ok(None) => {}
                Err(e) => break Err(e),
            }
        }
        // a failed source ends the run before anything more is drawn
        if let Some(reason) = &app.failure {
            break Err(anyhow!("{reason}"));
        }
        let due = urgent
            || last_frame.is_none_or(|t| t.elapsed() >= if dirty { FRAME } else { IDLE_FRAME });
        if due {
            // a terminal error ends the loop like any other, so the
            // recording is still completed below
            let size = match screen.terminal.size() {
                Ok(size) => size,
                Err(e) => break Err(anyhow!("reading the terminal size: {e}")),
            };
            viewport = ui::viewport(Rect::new(0, 0, size.width, size.height), &app);
            app.prepare(&viewport);
            if let Err(e) = screen.terminal.draw(|frame| ui::draw(frame, &app)) {
                break Err(anyhow!("drawing: {e}"));
            }
            last_frame = Some(Instant::now());
            dirty = false;
            urgent = false;
            // lets the end-to-end tests prove the terminal survives a panic
            if std::env::var_os("TRACER_TUI_TEST_PANIC").is_some() {
                panic!("TRACER_TUI_TEST_PANIC is set");
            }
        }
    };
    input_stop.store(true, Ordering::Relaxed);
    job_control.close();
    drop(screen);
    // quitting ends a command still running: asked with SIGTERM, killed if
    // it has not ended within the grace; its exit is then traced below
    let ended = match session.command.as_mut() {
        Some(command) => command.terminate(TERMINATE_GRACE).map(drop),
        None => Ok(()),
    };
    if let Some(backend) = backend {
        backend.stop();
    }
    // the recording gets what the source delivered up to its stop
    for event in rx.try_iter() {
        if let Event::Source(message) = event {
            session.summary.observe(&message);
            record((&mut recorder, &mut record_failure), &message, &mut app);
        }
    }
    let result = result.and(ended);
    if let Some(mut r) = recorder {
        if let Err(e) = r.flush() {
            record_failure.get_or_insert(e);
        }
    }
    // a lost recording is not a clean end, whatever else happened
    match (result, record_failure) {
        (Err(e), Some(failure)) => Err(anyhow!("{e:#} (and {failure:#})")),
        (result, None) => result,
        (Ok(()), Some(failure)) => Err(failure),
    }
}

/// What the header says of a traced tree.
fn scope_line(session: &Session) -> Option<String> {
    match (&session.target, &session.command) {
        (_, Some(command)) => Some(format!("tracing {} (pid {})", command.name, command.pid())),
        (Target::Pid(pid), None) => Some(format!("tracing pid {pid} and its descendants")),
        _ => None,
    }
}

/// The recorder while it works, and why it stopped when it did.
type Recording<'a> = (&'a mut Option<Recorder>, &'a mut Option<anyhow::Error>);

/// Why the dashboard needs a terminal, and what to use without one: only
/// flags that combine with those given (--replay and --record conflict with
/// --stream and --json).
fn needs_terminal(cli: &Cli) -> &'static str {
    if cli.replay.is_some() {
        "--replay shows the recording in the dashboard, which needs a terminal \
         (the file itself is NDJSON, for any JSON tool)"
    } else if cli.record.is_some() {
        "--record records what the dashboard shows, which needs a terminal \
         (without one, --json > FILE writes the same format)"
    } else {
        "the dashboard needs a terminal (without one, use --stream or --json)"
    }
}

/// Takes one event in; Some(result) ends the loop.
fn handle(
    event: Event,
    app: &mut App,
    backend: Option<&Backend>,
    recording: Recording,
    intake: &mut Intake,
    viewport: &Viewport,
) -> Option<Result<()>> {
    match event {
        Event::Source(message) => {
            record(recording, &message, app);
            intake.push(message);
            None
        }
        Event::Input(TermEvent::Key(key)) => act(app.handle_key(key), app, backend),
        Event::Input(TermEvent::Mouse(mouse)) => {
            act(app.handle_mouse(mouse, viewport), app, backend)
        }
        Event::Input(_) | Event::Job(_) => None,
        Event::InputFailed(reason) => Some(Err(anyhow!("reading the terminal: {reason}"))),
    }
}

fn act(action: Action, app: &mut App, backend: Option<&Backend>) -> Option<Result<()>> {
    match action {
        Action::None => None,
        Action::Quit => Some(Ok(())),
        Action::SetMinDuration(d) => {
            if let Some(Err(e)) = backend.map(|b| b.send(Command::SetMinDuration(d))) {
                app.notice = Some(format!("{e:#}"));
            }
            None
        }
    }
}

fn record((recorder, failure): Recording, message: &Message, app: &mut App) {
    let Some(r) = recorder else { return };
    let written = match message {
        Message::Events(events) => r.write(events),
        Message::Snapshot(processes) => r.running(processes),
        _ => Ok(()),
    };
    if let Err(e) = written {
        app.notice = Some(format!("recording stopped: {}", one_line(&e)));
        *failure = Some(e);
        *recorder = None;
    }
}

fn spawn_input(tx: Sender<Event>, stop: Arc<AtomicBool>) -> Result<()> {
    let spawned = thread::Builder::new().name("input".into()).spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            let event = match term::poll(Duration::from_millis(100)) {
                Ok(false) => continue,
                Ok(true) => term::read().map(Event::Input),
                Err(e) => Err(e),
            };
            let event = event.unwrap_or_else(|e| Event::InputFailed(e.to_string()));
            let failed = matches!(event, Event::InputFailed(_));
            if tx.send(event).is_err() || failed {
                break;
            }
        }
    });
    spawned.map(drop).context("starting the input thread")
}

fn one_line(e: &anyhow::Error) -> String {
    crate::sanitize::visible(&format!("{e:#}").replace('\n', " "))
}
