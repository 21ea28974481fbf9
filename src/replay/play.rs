//! Sending a replay's events to the dashboard: a checked file at its own
//! pace, or a stream's lines as they arrive. Events go in batches of at
//! most `BATCH`, and at most `WINDOW` of them wait in the dashboard's queue,
//! so two million exits with one timestamp cost frames, not a frozen
//! screen, and a key pressed meanwhile waits behind a few batches only.

use std::sync::{Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::lines::{LineReader, Next};
use super::scan::Summary;
use crate::event::{TraceEvent, WallTime};
use crate::record;
use crate::source::{Message, ReplayPosition, ReplayStage};

/// The most events in one message.
pub const BATCH: usize = 1_000;
/// The most events sent and not yet taken in by the dashboard.
pub const WINDOW: usize = 4 * BATCH;
/// A stream's events are shown at least this often while lines arrive.
const FLUSH: Duration = Duration::from_millis(50);
/// How long a stream waits for a line before the clock moves on.
const IDLE: Duration = Duration::from_millis(100);

/// Events in flight between the replay thread and the dashboard.
#[derive(Default)]
pub struct Credit {
    /// (events sent and not yet taken, the dashboard has gone)
    state: Mutex<(usize, bool)>,
    changed: Condvar,
}

impl Credit {
    /// Waits until `n` more events may be sent; false when the dashboard
    /// has gone.
    fn acquire(&self, n: usize) -> bool {
        let Ok(mut state) = self.state.lock() else {
            return false;
        };
        while !state.1 && state.0 > 0 && state.0 + n > WINDOW {
            state = match self.changed.wait(state) {
                Ok(s) => s,
                Err(_) => return false,
            };
        }
        state.0 += n;
        !state.1
    }

    /// The dashboard took `n` events in.
    pub fn release(&self, n: usize) {
        if let Ok(mut state) = self.state.lock() {
            state.0 = state.0.saturating_sub(n);
            self.changed.notify_all();
        }
    }

    pub fn close(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.1 = true;
            self.changed.notify_all();
        }
    }
}

/// Where messages go; every method is false once the dashboard has gone.
pub struct Out<'a> {
    pub send: &'a dyn Fn(Message) -> bool,
    pub credit: &'a Credit,
}

impl Out<'_> {
    fn events(&self, batch: Vec<TraceEvent>) -> bool {
        batch.is_empty()
            || (self.credit.acquire(batch.len()) && (self.send)(Message::Events(batch)))
    }

    fn position(
        &self,
        clock: WallTime,
        first: WallTime,
        last: WallTime,
        stage: ReplayStage,
    ) -> bool {
        (self.send)(Message::Clock(ReplayPosition {
            clock,
            first,
            last,
            stage,
        }))
    }
}

/// The next event of a checked file (None at its end).
fn next_event(reader: &mut LineReader, name: &str) -> Result<Option<TraceEvent>, String> {
    loop {
        let (text, n) = match reader.next(Duration::ZERO) {
            Ok(Next::Line(text, n) | Next::Unterminated(text, n)) => (text, n),
            Ok(Next::End) => return Ok(None),
            Ok(Next::Idle) => continue,
            Err(r) => return Err(format!("{name}:{}: {}", r.0, r.1)),
        };
        // checked before playing: a failure now means the file changed
        return record::parse_line(&text).map(Some).map_err(|e| {
            format!("{name}:{n}: not a tracer-tui record (changed while replaying): {e}")
        });
    }
}

/// Plays a checked file at `speed` times its recorded pace. Ok(false): the
/// dashboard has gone.
pub fn file(
    mut reader: LineReader,
    name: &str,
    summary: &Summary,
    speed: f64,
    out: &Out,
) -> Result<bool, String> {
    let (first, last) = (summary.first, summary.last);
    // the clock stops at the last event: nothing happens after it, so a live
    // row's age must not grow past the end of the file
    let position =
        |clock: WallTime| out.position(clock.min(last), first, last, ReplayStage::Playing);
    let started = Instant::now();
    let clock = |elapsed: Duration| {
        let played = (elapsed.as_secs_f64() * speed * 1e9) as u64;
        WallTime(first.0.saturating_add(played)).min(last)
    };
    if !position(first) {
        return Ok(false);
    }
    let mut pending = next_event(&mut reader, name)?;
    while pending.is_some() {
        let now = clock(started.elapsed());
        let mut batch = Vec::new();
        while batch.len() < BATCH {
            match pending.take() {
                Some(e) if e.time() <= now => {
                    batch.push(e);
                    pending = next_event(&mut reader, name)?;
                }
                other => {
                    pending = other;
                    break;
                }
            }
        }
        let full = batch.len() == BATCH;
        if !out.events(batch) || !position(now) {
            return Ok(false);
        }
        if full {
            // more are due now: the credit paces them
            continue;
        }
        let wait = pending.as_ref().map_or(Duration::ZERO, |e| {
            Duration::from_secs_f64(e.time().0.saturating_sub(now.0) as f64 / 1e9 / speed)
        });
        thread::sleep(wait.clamp(Duration::from_millis(1), Duration::from_millis(100)));
    }
    // every event is out, so the clock has reached the last one; it stays there
    Ok(position(last))
}

/// Shows a stream's lines as they arrive, until its writer closes it. The
/// clock is the newest event's time, moving on with the wall clock while
/// nothing arrives. Ok(false): the dashboard has gone.
pub fn stream(mut reader: LineReader, name: &str, out: &Out) -> Result<bool, String> {
    let mut batch = Vec::new();
    let mut first = None;
    let mut newest: Option<(WallTime, Instant)> = None;
    let mut flushed = Instant::now();
    let clock = |newest: Option<(WallTime, Instant)>| {
        newest.map_or(WallTime(0), |(t, at): (WallTime, Instant)| {
            let since = u64::try_from(at.elapsed().as_nanos()).unwrap_or(u64::MAX);
            WallTime(t.0.saturating_add(since))
        })
    };
    let flush = |batch: &mut Vec<TraceEvent>, first: Option<WallTime>, newest| {
        let now = clock(newest);
        out.events(std::mem::take(batch))
            && out.position(now, first.unwrap_or(now), now, ReplayStage::Following)
    };
    if !flush(&mut batch, first, newest) {
        return Ok(false);
    }
    loop {
        let next = reader
            .next(if batch.is_empty() { IDLE } else { FLUSH })
            .map_err(|r| format!("{name}:{}: {}", r.0, r.1))?;
        let ended = match next {
            Next::Line(text, n) => {
                let event = record::parse_line(&text)
                    .map_err(|e| format!("{name}:{n}: not a tracer-tui record: {e}"))?;
                let t = event.time();
                first.get_or_insert(t);
                if newest.is_none_or(|(n, _)| t >= n) {
                    newest = Some((t, Instant::now()));
                }
                batch.push(event);
                false
            }
            Next::Unterminated(text, n) => {
                match record::parse_line(&text) {
                    Ok(event) => batch.push(event),
                    Err(e) => {
                        let warning = format!("{name}:{n}: the last line is cut short ({e}); shown up to the line before it");
                        if !(out.send)(Message::Warning(warning)) {
                            return Ok(false);
                        }
                    }
                }
                true
            }
            Next::End => true,
            Next::Idle => false,
        };
        if ended {
            // the clock stops at the newest event, as a file's does
            let last = newest.map(|(t, _)| t);
            let now = last.unwrap_or(WallTime(0));
            return Ok(out.events(std::mem::take(&mut batch))
                && out.position(now, first.unwrap_or(now), now, ReplayStage::Following));
        }
        if (batch.len() >= BATCH || batch.is_empty() || flushed.elapsed() >= FLUSH)
            && !flush(&mut batch, first, newest)
        {
            return Ok(false);
        }
        if batch.is_empty() {
            flushed = Instant::now();
        }
    }
}
