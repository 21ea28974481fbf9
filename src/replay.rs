//! The replay source: a recorded NDJSON file played back with its own
//! timing, feeding the dashboard the same messages as the kernel does.

use std::path::Path;
use std::sync::mpsc::Sender;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::event::{Origin, TraceEvent, WallTime};
use crate::record;
use crate::source::Message;

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
    let base = start_time(&events);
    let started = Instant::now();
    let clock = |elapsed: Duration| {
        WallTime(
            base.0
                .saturating_add((elapsed.as_secs_f64() * speed * 1e9) as u64),
        )
    };
    let mut pending = events.into_iter().peekable();
    if !send(Message::Clock(base)) {
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
        if !send(Message::Clock(now)) {
            return;
        }
        let wait = pending.peek().map_or(Duration::ZERO, |e| {
            Duration::from_secs_f64(e.time().0.saturating_sub(now.0) as f64 / 1e9 / speed)
        });
        thread::sleep(wait.clamp(Duration::from_millis(1), Duration::from_millis(100)));
    }
    if !send(Message::End) {
        return;
    }
    // keep the clock running, so ages go on growing after the last event
    while send(Message::Clock(clock(started.elapsed()))) {
        thread::sleep(Duration::from_millis(250));
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
