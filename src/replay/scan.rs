//! The check of a replay file before it plays: every line read and parsed
//! once, keeping only what playing needs (where the clock starts and stops,
//! where the last whole line ends), so a bad line is found before anything
//! is shown and memory does not grow with the file.

use std::fs::File;
use std::time::{Duration, Instant};

use super::lines::{LineReader, Next};
use crate::event::{Origin, TraceEvent, WallTime};
use crate::record;

/// What the check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// where the clock starts: the first event that is not a process
    /// already running when the recording began
    pub first: WallTime,
    /// where it stops: the latest event
    pub last: WallTime,
    pub events: u64,
    /// bytes to play: up to the end of the last whole line
    pub length: u64,
    /// a warning when the last line was cut short
    pub cut: Option<String>,
}

pub struct Scan {
    reader: LineReader,
    name: String,
    total: u64,
    first_any: Option<WallTime>,
    first_live: Option<WallTime>,
    last: WallTime,
    events: u64,
}

impl Scan {
    /// A check of `file`'s first `total` bytes (its size when opened: a file
    /// that grows is played as it was).
    pub fn new(file: File, total: u64, name: String) -> Self {
        Self {
            reader: LineReader::new(file, false, Some(total)),
            name,
            total,
            first_any: None,
            first_live: None,
            last: WallTime(0),
            events: 0,
        }
    }

    /// (bytes checked, bytes to check).
    pub fn progress(&self) -> (u64, u64) {
        (self.reader.bytes_read(), self.total)
    }

    /// Checks lines for up to `budget`: Some when the file is done. An error
    /// is one line naming the file and line.
    pub fn step(&mut self, budget: Duration) -> Result<Option<Summary>, String> {
        let started = Instant::now();
        loop {
            let next = self
                .reader
                .next(Duration::ZERO)
                .map_err(|r| format!("{}:{}: {}", self.name, r.0, r.1))?;
            match next {
                Next::Line(text, n) => match record::parse_line(&text) {
                    Ok(event) => self.take(&event),
                    Err(e) => {
                        return Err(format!("{}:{n}: not a tracer-tui record: {e}", self.name))
                    }
                },
                Next::Unterminated(text, n) => {
                    // a last line without its newline that reads whole is
                    // played; one cut mid-write is left out, with a warning
                    let length = self.reader.consumed();
                    return match record::parse_line(&text) {
                        Ok(event) => {
                            self.take(&event);
                            self.summary(self.reader.bytes_read(), None)
                        }
                        Err(e) => {
                            let warning = format!(
                                "{}:{n}: the last line is cut short ({e}); replaying the lines before it",
                                self.name
                            );
                            self.summary(length, Some(warning))
                        }
                    }
                    .map(Some);
                }
                Next::End => {
                    let length = self.reader.consumed();
                    return self.summary(length, None).map(Some);
                }
                Next::Idle => {}
            }
            if started.elapsed() >= budget {
                return Ok(None);
            }
        }
    }

    fn take(&mut self, event: &TraceEvent) {
        let t = event.time();
        self.events += 1;
        self.first_any.get_or_insert(t);
        if !matches!(event, TraceEvent::Exec(p) if p.origin == Origin::Proc) {
            self.first_live.get_or_insert(t);
        }
        self.last = self.last.max(t);
    }

    fn summary(&self, length: u64, cut: Option<String>) -> Result<Summary, String> {
        let Some(first) = self.first_live.or(self.first_any) else {
            return Err(match cut {
                Some(warning) => warning.replace("; replaying the lines before it", ""),
                None => format!("{}: no events to replay", self.name),
            });
        };
        Ok(Summary {
            first,
            last: self.last.max(first),
            events: self.events,
            length,
            cut,
        })
    }

    /// The file, to be read again from its start for playing.
    pub fn into_file(self) -> File {
        self.reader.into_file()
    }
}
