//! Headless output for scripts and pipes: the original tracer's line format
//! (`--stream`) and NDJSON (`--json`).

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};

use crate::backend::{Backend, Message};
use crate::backlog::{self, Backlog};
use crate::event::{ExitInfo, ProcessInfo, TraceEvent, WallTime};
use crate::output::{self, Output, Stalled};
use crate::record;

/// The two line formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// the original tracer's columns
    Stream,
    /// NDJSON records
    Json,
    /// nothing (--summary alone: the table is printed at the end)
    Quiet,
}

/// How long a stop waits for the reader to take what is still queued.
const GRACE: Duration = Duration::from_millis(400);

/// How long a signal's stop waits for the traced command (which had the
/// signal too, from the terminal) to end, so its own exit is reported.
const COMMAND_GRACE: Duration = Duration::from_secs(2);

/// Writes events until `quit` is set, the reader closes the pipe, or the
/// backend fails. Everything received is written before returning, unless
/// the reader has stopped reading: then a signal ends the run within about
/// a second, and a note on stderr says how much was not written.
pub fn run(
    mode: Format,
    min_duration: Duration,
    backend: Backend,
    messages: Receiver<Message>,
    backlog: &Backlog,
    quit: &AtomicBool,
    session: &mut crate::scope::Session,
) -> Result<()> {
    let out = Output::stdout()?;
    let mut sink = Sink {
        mode,
        exec_with_exit: min_duration > Duration::ZERO,
    };
    // set once a signal arrives: when waiting for the reader ends
    let mut deadline: Option<Instant> = None;
    let mut quit_at: Option<Instant> = None;
    let command = &mut session.command;
    let mut passed_on = None;
    let mut stopping = || {
        if deadline.is_none() && quit.load(Ordering::Relaxed) {
            let since = *quit_at.get_or_insert_with(Instant::now);
            // the command's exit first, unless it takes too long
            let running = command.as_mut().and_then(|c| match c.try_reap() {
                Ok(None) => Some(c),
                _ => None,
            });
            if let Some(c) = running {
                let waited = since.elapsed();
                if waited < COMMAND_GRACE {
                    return None;
                }
                // it goes on (the stop came to tracer-tui alone: SIGTERM
                // from a service manager): pass it on, then kill, and
                // trace its end rather than leave it running untraced
                let signal = if waited < COMMAND_GRACE + crate::scope::TERMINATE_GRACE {
                    libc::SIGTERM
                } else {
                    libc::SIGKILL
                };
                if passed_on != Some(signal) {
                    c.signal(signal);
                    passed_on = Some(signal);
                }
                return None;
            }
            deadline = Some(Instant::now() + GRACE);
            // the backend delivers what the kernel still holds, then hangs up
            let _ = backend_stop(&backend);
        }
        deadline
    };
    let summary = &mut session.summary;
    let result = (|| -> Result<Option<String>, Stalled> {
        let mut header = Vec::new();
        sink.header(&mut header).map_err(Stalled::Failed)?;
        out.send(header, &mut stopping)?;
        loop {
            stopping();
            let message = match messages.recv_timeout(Duration::from_millis(100)) {
                Ok(message) => message,
                Err(RecvTimeoutError::Timeout) => {
                    // a quiet host sends nothing new: notice a reader that
                    // left (`| head -1`) all the same
                    out.check()?;
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            };
            let weight = backlog::weight(&message);
            summary.observe(&message);
            match message {
                Message::Events(events) => {
                    let mut bytes = Vec::new();
                    for event in &events {
                        sink.write(&mut bytes, event).map_err(Stalled::Failed)?;
                    }
                    drop(events);
                    out.send(bytes, &mut stopping)?;
                }
                Message::Failed(reason) => return Ok(Some(reason)),
                Message::CommandFailed(reason) => return Ok(Some(reason)),
                Message::Warning(note) => output::note(&crate::sanitize::visible(&note)),
                _ => {}
            }
            // only now: what waits to be written is bounded by the queue
            backlog.taken(weight);
        }
        out.finish(&mut stopping)?;
        Ok(None)
    })();
    let outcome = match result {
        Ok(None) => Ok(()),
        Ok(Some(reason)) => {
            // what came before the failure is written first
            let _ = out.finish(&mut stopping);
            Err(anyhow!(reason))
        }
        // the reader went away (e.g. `| head -1`): a normal end
        Err(Stalled::Failed(e)) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(Stalled::Failed(e)) => Err(crate::write_error::writing("stdout", &e)),
        // asked to stop while the reader was not reading
        Err(Stalled::Abandoned(bytes)) => {
            output::note(&format!(
                "stopped with {bytes} bytes of output the reader did not take"
            ));
            Ok(())
        }
    };
    drop(backend);
    outcome
}

fn backend_stop(backend: &Backend) -> Result<()> {
    backend.send(crate::backend::Command::Shutdown)
}

struct Sink {
    mode: Format,
    /// with a min duration, each exit is preceded by its exec, as the
    /// original tracer did, and execs are not printed on their own
    exec_with_exit: bool,
}

impl Sink {
    fn header(&self, out: &mut impl Write) -> io::Result<()> {
        match self.mode {
            Format::Stream => writeln!(
                out,
                "{:<8} {:<5} {:<16} {:<7} {:<7} FILENAME/EXIT CODE",
                "TIME", "EVENT", "COMM", "PID", "PPID"
            ),
            Format::Json | Format::Quiet => Ok(()),
        }
    }

    fn write(&mut self, out: &mut impl Write, event: &TraceEvent) -> io::Result<()> {
        match self.mode {
            Format::Quiet => Ok(()),
            // with a min duration, as in the stream format: an exec only
            // with its reported exit (failed attempts are in its history)
            Format::Json if self.exec_with_exit => match event {
                TraceEvent::Exec(_) | TraceEvent::ExecFailed(_) | TraceEvent::Gone { .. } => Ok(()),
                TraceEvent::Fork(_) | TraceEvent::Reparent { .. } => Ok(()),
                TraceEvent::Exit(e) => {
                    let exec = TraceEvent::Exec(e.process.clone());
                    writeln!(out, "{}", record::to_line(&exec))?;
                    writeln!(out, "{}", record::to_line(event))
                }
                TraceEvent::Lost { .. } => writeln!(out, "{}", record::to_line(event)),
            },
            Format::Json if record::recorded(event) => writeln!(out, "{}", record::to_line(event)),
            Format::Json => Ok(()),
            Format::Stream => match event {
                TraceEvent::Exec(p) if !self.exec_with_exit => exec_line(out, p),
                TraceEvent::Exec(_) => Ok(()),
                TraceEvent::Exit(e) => {
                    if self.exec_with_exit {
                        exec_line(out, &e.process)?;
                    }
                    exit_line(out, e)
                }
                // with a min duration only reported exits print their exec
                TraceEvent::ExecFailed(f) => writeln!(
                    out,
                    "{:<8} {:<5} {:<16} {:<7} {:<7} {} [{}]",
                    clock_time(f.time),
                    "FAIL",
                    f.comm,
                    f.pid,
                    f.ppid,
                    f.filename,
                    crate::errno::name(f.errno)
                ),
                TraceEvent::Gone { .. } => Ok(()),
                TraceEvent::Fork(_) | TraceEvent::Reparent { .. } => Ok(()),
                TraceEvent::Lost { time, drops } => writeln!(
                    out,
                    "{:<8} {:<5} ring buffer full: {} exec, {} exit, {} failed-exec and {} fork \
                     events lost; {} exec records not kept (pid map full); {} undecodable; {} \
                     children not traced (traced set full) (totals)",
                    clock_time(*time),
                    "LOST",
                    drops.exec_ringbuf,
                    drops.exit_ringbuf,
                    drops.exec_failed_ringbuf,
                    drops.fork_ringbuf,
                    drops.pid_map_full,
                    drops.undecodable,
                    drops.traced_full
                ),
            },
        }
    }
}

fn exec_line(out: &mut impl Write, p: &ProcessInfo) -> io::Result<()> {
    writeln!(
        out,
        "{:<8} {:<5} {:<16} {:<7} {:<7} {}",
        clock_time(p.exec_time),
        "EXEC",
        p.comm,
        p.pid,
        p.ppid,
        p.filename
    )
}

fn exit_line(out: &mut impl Write, e: &ExitInfo) -> io::Result<()> {
    writeln!(
        out,
        "{:<8} {:<5} {:<16} {:<7} {:<7} [{}] ({}ms)",
        clock_time(e.end),
        "EXIT",
        e.process.comm,
        e.process.pid,
        e.process.ppid,
        e.status.label(),
        e.duration_ns / 1_000_000
    )
}

/// Local HH:MM:SS, as the original tracer printed.
pub fn clock_time(t: WallTime) -> String {
    let secs = (t.0 / 1_000_000_000) as libc::time_t;
    // SAFETY: tm is plain data; localtime_r writes it and reads only `secs`.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the duration of the call.
    if unsafe { libc::localtime_r(&secs, &mut tm) }.is_null() {
        return "??:??:??".into();
    }
    format!("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Drops, ExitStatus};

    fn exit(status: u32) -> TraceEvent {
        TraceEvent::Exit(ExitInfo {
            process: ProcessInfo {
                pid: 10,
                ppid: 1,
                comm: "sh".into(),
                filename: "/bin/sh".into(),
                ..Default::default()
            },
            exit_comm: "sh".into(),
            end: WallTime(0),
            duration_ns: 201_500_000,
            status: ExitStatus(status),
            usage: None,
        })
    }

    fn render(sink: &mut Sink, events: &[TraceEvent]) -> Vec<String> {
        let mut out = Vec::new();
        for e in events {
            sink.write(&mut out, e).unwrap();
        }
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| l[9..].to_string())
            .collect()
    }

    #[test]
    fn stream_lines_follow_the_original_format() {
        let mut sink = Sink {
            mode: Format::Stream,
            exec_with_exit: false,
        };
        let lines = render(&mut sink, &[exit(3 << 8), exit(9), exit(0x80 | 11)]);
        assert_eq!(
            lines[0],
            "EXIT  sh               10      1       [3] (201ms)"
        );
        assert!(lines[1].ends_with("[SIGKILL] (201ms)"));
        assert!(lines[2].ends_with("[SIGSEGV core] (201ms)"));
    }

    #[test]
    fn min_duration_prints_exec_with_each_exit() {
        let mut sink = Sink {
            mode: Format::Stream,
            exec_with_exit: true,
        };
        let exec = TraceEvent::Exec(ProcessInfo::default());
        let lines = render(&mut sink, &[exec, exit(0)]);
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("EXEC  sh"));
        assert!(lines[0].ends_with("/bin/sh"));
        assert!(lines[1].starts_with("EXIT  sh"));
    }

    #[test]
    fn json_with_a_min_duration_prints_execs_only_with_their_exits() {
        let mut sink = Sink {
            mode: Format::Json,
            exec_with_exit: true,
        };
        let mut out = Vec::new();
        let unreported = TraceEvent::Exec(ProcessInfo {
            pid: 99,
            ..Default::default()
        });
        for e in [unreported, exit(0)] {
            sink.write(&mut out, &e).unwrap();
        }
        let lines: Vec<serde_json::Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let seen: Vec<(&str, u64)> = lines
            .iter()
            .map(|l| (l["event"].as_str().unwrap(), l["pid"].as_u64().unwrap()))
            .collect();
        assert_eq!(seen, [("exec", 10), ("exit", 10)]);
    }

    #[test]
    fn stream_names_the_process_not_its_last_thread() {
        let mut sink = Sink {
            mode: Format::Stream,
            exec_with_exit: false,
        };
        let TraceEvent::Exit(mut e) = exit(0) else {
            unreachable!()
        };
        e.exit_comm = "zzworker".into();
        let lines = render(&mut sink, &[TraceEvent::Exit(e)]);
        assert!(lines[0].starts_with("EXIT  sh "), "{}", lines[0]);
    }

    #[test]
    fn lost_line() {
        let mut sink = Sink {
            mode: Format::Stream,
            exec_with_exit: false,
        };
        let drops = Drops {
            exec_ringbuf: 2,
            ..Default::default()
        };
        let lines = render(
            &mut sink,
            &[TraceEvent::Lost {
                time: WallTime(0),
                drops,
            }],
        );
        assert!(lines[0].starts_with("LOST  ring buffer full: 2 exec"));
    }
}
