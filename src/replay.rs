//! The replay source: a recorded NDJSON file played back with its own
//! timing, feeding the dashboard the same messages as the kernel does.

use std::path::Path;
use std::sync::mpsc::Sender;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::event::{Origin, TraceEvent, WallTime};
use crate::record;
use crate::source::{Message, ReplayPosition};

/// Reads and checks a whole file before anything is shown, so a bad line
/// is one clear error naming it.
pub fn load(path: &Path) -> Result<Vec<TraceEvent>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    let mut events = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match record::parse_line(line) {
            Ok(event) => events.push(event),
            Err(e) => bail!("{}:{}: not a tracer-tui record: {e}", path.display(), i + 1),
        }
    }
    if events.is_empty() {
        bail!("{}: no events to replay", path.display());
    }
    Ok(events)
}

/// Processes already running when the recording began come first, with
/// their old start times; the clock starts at the first other event.
fn start_time(events: &[TraceEvent]) -> WallTime {
    events
        .iter()
        .find(|e| !matches!(e, TraceEvent::Exec(p) if p.origin == Origin::Proc))
        .unwrap_or(&events[0])
        .time()
}

/// Plays `events` at `speed` times their recorded pace.
pub fn start<E>(events: Vec<TraceEvent>, speed: f64, tx: Sender<E>) -> Result<JoinHandle<()>>
where
    E: From<Message> + Send + 'static,
{
    thread::Builder::new()
        .name("replay".into())
        .spawn(move || {
            let send = |m: Message| tx.send(E::from(m)).is_ok();
            let played = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                play(events, speed, &send)
            }));
            if played.is_err() {
                send(Message::Failed("the replay thread panicked".into()));
            }
        })
        .context("starting the replay thread")
}

fn play(events: Vec<TraceEvent>, speed: f64, send: &dyn Fn(Message) -> bool) {
    let first = start_time(&events);
    // the clock stops at the last event: nothing happens after it, so a live
    // row's age must not grow past the end of the file
    let last = events.iter().map(TraceEvent::time).max().unwrap_or(first);
    let last = last.max(first);
    let position = |clock: WallTime| {
        Message::Clock(ReplayPosition {
            clock: clock.min(last),
            first,
            last,
        })
    };
    let started = Instant::now();
    let clock = |elapsed: Duration| {
        let played = (elapsed.as_secs_f64() * speed * 1e9) as u64;
        WallTime(first.0.saturating_add(played)).min(last)
    };
    let mut pending = events.into_iter().peekable();
    if !send(position(first)) {
        return;
    }
    while pending.peek().is_some() {
        let now = clock(started.elapsed());
        let mut batch = Vec::new();
        while let Some(e) = pending.next_if(|e| e.time() <= now) {
            batch.push(e);
        }
        if !batch.is_empty() && !send(Message::Events(batch)) {
            return;
        }
        if !send(position(now)) {
            return;
        }
        let wait = pending.peek().map_or(Duration::ZERO, |e| {
            Duration::from_secs_f64(e.time().0.saturating_sub(now.0) as f64 / 1e9 / speed)
        });
        thread::sleep(wait.clamp(Duration::from_millis(1), Duration::from_millis(100)));
    }
    // every event is out, so the clock has reached the last one; it stays there
    if send(position(last)) {
        send(Message::End);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::ProcessInfo;
    use std::io::Write;
    use std::sync::mpsc;

    fn exec(pid: u32, t: u64, origin: Origin) -> TraceEvent {
        TraceEvent::Exec(ProcessInfo {
            pid,
            start: WallTime(t),
            exec_time: WallTime(t),
            origin,
            ..Default::default()
        })
    }

    /// Every message a replay of `events` sends, to its end.
    fn replay_messages(events: Vec<TraceEvent>, speed: f64) -> Vec<Message> {
        let (tx, rx) = mpsc::channel::<Message>();
        let handle = start(events, speed, tx).unwrap();
        let mut messages = Vec::new();
        while !messages.contains(&Message::End) {
            messages.push(rx.recv_timeout(Duration::from_secs(5)).unwrap());
        }
        // nothing after the end: the clock has stopped and the thread is done
        assert_eq!(
            rx.recv_timeout(Duration::from_millis(600)),
            Err(mpsc::RecvTimeoutError::Disconnected),
            "the replay went on after its end"
        );
        handle.join().unwrap();
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
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(f, "{}", record::to_line(&exec(1, 1, Origin::Exec))).unwrap();
        writeln!(f).unwrap();
        writeln!(f, "{{\"event\":\"exec\"").unwrap();
        let err = load(f.path()).unwrap_err().to_string();
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
        assert!(load(f.path())
            .unwrap_err()
            .to_string()
            .contains("no events"));
        assert!(load(Path::new("/nonexistent/file")).is_err());
    }

    #[test]
    fn plays_in_order_with_time() {
        let s = 1_000_000_000;
        let events = vec![
            exec(1, 5 * s, Origin::Proc),
            exec(2, 100 * s, Origin::Exec),
            exec(3, 100 * s + 50_000_000, Origin::Exec),
        ];
        assert_eq!(start_time(&events), WallTime(100 * s));
        let (tx, rx) = mpsc::channel::<Message>();
        let started = Instant::now();
        let handle = start(events, 1.0, tx).unwrap();
        let mut pids = Vec::new();
        let mut ended = false;
        while !ended {
            match rx.recv_timeout(Duration::from_secs(5)).unwrap() {
                Message::Events(batch) => pids.extend(batch.iter().map(|e| match e {
                    TraceEvent::Exec(p) => p.pid,
                    _ => 0,
                })),
                Message::End => ended = true,
                _ => {}
            }
        }
        assert_eq!(pids, [1, 2, 3]);
        assert!(
            started.elapsed() >= Duration::from_millis(50),
            "recorded pace kept"
        );
        drop(rx);
        handle.join().unwrap();
    }
}
