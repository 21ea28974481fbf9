//! Standard output written by a thread of its own, behind a bounded queue.
//!
//! A reader that stops reading blocks write(2) for as long as it likes, and
//! a blocked main thread cannot act on SIGINT or SIGTERM. Here only the
//! writer thread blocks: the main thread waits for room in the queue with a
//! timeout, sees the signal, and may abandon the writer when it stops.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Write};
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// Bytes queued for the writer before the main thread waits: enough to
/// keep the pipe full, small next to the rest of the process.
const MAX_QUEUED: usize = 1 << 20;

/// How often a waiting main thread looks at its deadline.
const TICK: Duration = Duration::from_millis(50);

#[derive(Default)]
struct Queue {
    chunks: VecDeque<Vec<u8>>,
    /// queued, or being written
    bytes: usize,
    failed: Option<io::Error>,
}

struct Shared {
    queue: Mutex<Queue>,
    /// signalled when a chunk is queued, written, or the writer fails
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Why the main thread stopped waiting for the writer.
#[derive(Debug)]
pub enum Stalled {
    /// the write failed (the reader went away, the disk is full)
    Failed(io::Error),
    /// the deadline passed with this many bytes not written
    Abandoned(usize),
}

/// The writer thread, fed through the queue.
pub struct Output {
    shared: Arc<Shared>,
}

impl Output {
    /// Starts the thread that writes to file descriptor 1.
    pub fn stdout() -> Result<Output> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            changed: Condvar::new(),
        });
        let theirs = Arc::clone(&shared);
        // SAFETY: fd 1 stays open for the life of the process; ManuallyDrop
        // keeps this File from closing it.
        let stdout = ManuallyDrop::new(unsafe { File::from_raw_fd(1) });
        thread::Builder::new()
            .name("stdout".into())
            .spawn(move || write_all(&theirs, stdout))
            .context("starting the output thread")?;
        Ok(Output { shared })
    }

    /// Queues `bytes`, first waiting for room until `deadline()` (asked
    /// again at each wait: a signal may set it meanwhile) has passed.
    pub fn send(
        &self,
        bytes: Vec<u8>,
        deadline: &mut dyn FnMut() -> Option<Instant>,
    ) -> Result<(), Stalled> {
        if bytes.is_empty() {
            return Ok(());
        }
        let mut queue = self.wait_while(deadline, |q| q.bytes >= MAX_QUEUED)?;
        queue.bytes += bytes.len();
        queue.chunks.push_back(bytes);
        self.shared.changed.notify_all();
        Ok(())
    }

    /// The writer's failure, if it has failed: the reader may have gone away
    /// while nothing new was being sent.
    pub fn check(&self) -> Result<(), Stalled> {
        match self.shared.lock().failed.take() {
            Some(e) => Err(Stalled::Failed(e)),
            None => Ok(()),
        }
    }

    /// Waits until everything queued is written, or the deadline passes.
    pub fn finish(&self, deadline: &mut dyn FnMut() -> Option<Instant>) -> Result<(), Stalled> {
        self.wait_while(deadline, |q| q.bytes > 0).map(drop)
    }

    fn wait_while(
        &self,
        deadline: &mut dyn FnMut() -> Option<Instant>,
        busy: impl Fn(&Queue) -> bool,
    ) -> Result<MutexGuard<'_, Queue>, Stalled> {
        let mut queue = self.shared.lock();
        loop {
            if let Some(e) = queue.failed.take() {
                return Err(Stalled::Failed(e));
            }
            if !busy(&queue) {
                return Ok(queue);
            }
            if deadline().is_some_and(|d| Instant::now() >= d) {
                return Err(Stalled::Abandoned(queue.bytes));
            }
            queue = match self.shared.changed.wait_timeout(queue, TICK) {
                Ok((q, _)) => q,
                Err(p) => p.into_inner().0,
            };
        }
    }
}

fn write_all(shared: &Shared, mut out: ManuallyDrop<File>) {
    loop {
        let chunk = {
            let mut queue = shared.lock();
            loop {
                if let Some(chunk) = queue.chunks.pop_front() {
                    break chunk;
                }
                queue = match shared.changed.wait(queue) {
                    Ok(q) => q,
                    Err(p) => p.into_inner(),
                };
            }
        };
        let written = out.write_all(&chunk);
        let mut queue = shared.lock();
        queue.bytes -= chunk.len();
        if let Err(e) = written {
            queue.failed = Some(e);
            queue.chunks.clear();
            queue.bytes = 0;
            shared.changed.notify_all();
            return;
        }
        shared.changed.notify_all();
    }
}

/// Writes a short line to stderr only if it can be written without
/// blocking: stderr may be the same stalled pipe as stdout (`2>&1`).
pub fn note(line: &str) {
    let mut fd = libc::pollfd {
        fd: 2,
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no wait.
    let ready = unsafe { libc::poll(&mut fd, 1, 0) } == 1 && fd.revents & libc::POLLOUT != 0;
    if ready {
        // a pipe with room takes a line this short whole
        let _ = io::stderr().write_all(format!("tracer-tui: {line}\n").as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_gives_up_at_the_deadline() {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            changed: Condvar::new(),
        });
        // no writer thread: nothing is ever written
        let out = Output { shared };
        let mut none = || None;
        out.send(vec![b'x'; MAX_QUEUED], &mut none).unwrap();
        let started = Instant::now();
        let at = started + Duration::from_millis(150);
        let mut soon = move || Some(at);
        match out.send(vec![b'y'; 10], &mut soon) {
            Err(Stalled::Abandoned(n)) => assert_eq!(n, MAX_QUEUED),
            other => panic!("{other:?}"),
        }
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(150) && took < Duration::from_millis(500));
    }
}
