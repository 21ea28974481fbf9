//! The kernel source: a thread that owns the BPF program, drains its ring
//! buffer, joins exits with their execs and snapshots the pid map. The rest
//! of the program sees only typed messages on a channel.

use std::cell::RefCell;
use std::collections::HashSet;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};

use libbpf_rs::RingBuffer;

use crate::backlog::{self, Backlog};
use crate::bpf::{self, LoadOptions, Tracer};
use crate::clock::{self, BootClock};
use crate::command_ledger::CommandLedger;
use crate::event::{Drops, Origin, ProcessInfo, TraceEvent};
use crate::orphans::Orphans;
use crate::pipeline::Pipeline;
use crate::procfs;
pub use crate::source::{Command, Message};

/// How long the reader sleeps between drains when the kernel does not wake
/// it: the upper bound on how late a quiet system's event is shown.
const POLL: Duration = Duration::from_millis(40);

/// Most records taken from the ring buffer per batch: a full ring is sent
/// in several batches, so a consumer that falls behind stops the drain
/// between them, and one batch's memory stays small.
const SLICE: usize = 4_096;

#[derive(Clone, Debug)]
pub struct BackendConfig {
    pub load: LoadOptions,
    pub min_duration: Duration,
    pub snapshot_every: Duration,
    pub proc_root: PathBuf,
    /// Seed the pid map from /proc, and remove records of processes gone
    /// from it. Only meaningful when /proc shows the kernel's own pids.
    pub use_proc: bool,
    /// Remove records of processes gone from /proc (off only in tests that
    /// check the kernel program leaves nothing behind on its own).
    pub forget_gone: bool,
    /// The bound on events sent but not yet handled, shared with the
    /// consumer, which takes off what it has handled; None for a consumer
    /// that takes every message as it comes.
    pub backlog: Option<Backlog>,
    /// Scoped tracing: the running processes to follow (--pid).
    pub scope: crate::scope::BackendScope,
}

impl BackendConfig {
    pub fn new(load: LoadOptions, min_duration: Duration) -> Self {
        Self {
            load,
            min_duration,
            snapshot_every: Duration::from_secs(1),
            proc_root: PathBuf::from("/proc"),
            // in a child pid namespace /proc shows other numbers than the kernel's
            use_proc: procfs::in_initial_pid_namespace(),
            forget_gone: true,
            backlog: None,
            scope: crate::scope::BackendScope::default(),
        }
    }
}

/// A running backend thread.
pub struct Backend {
    commands: Sender<Command>,
    thread: Option<JoinHandle<()>>,
    /// scoped tracing: the traced set, for the command to put itself in
    traced: Option<OwnedFd>,
}

impl Backend {
    /// Loads and attaches the program, then returns; a load failure is
    /// returned here, before anything else starts.
    pub fn start<E>(config: BackendConfig, events: Sender<E>) -> Result<Backend>
    where
        E: From<Message> + Send + 'static,
    {
        let (commands, command_rx) = mpsc::channel();
        let (ready_tx, ready_rx) = mpsc::sync_channel::<Result<Option<OwnedFd>>>(1);
        let thread = thread::Builder::new()
            .name("bpf-backend".into())
            .spawn(move || {
                let mut storage = MaybeUninit::uninit();
                let tracer = match Tracer::load(
                    &mut storage,
                    &config.load,
                    duration_ns(config.min_duration),
                ) {
                    Ok(t) => t,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let traced = match tracer.traced_map() {
                    Ok(traced) => traced,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(traced));
                let send = |m: Message| {
                    if let Some(backlog) = &config.backlog {
                        backlog.sent(backlog::weight(&m));
                    }
                    events.send(E::from(m)).is_ok()
                };
                // a panic here must reach the front end as a failure, or it
                // would wait forever for a backend that is gone
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    run(&tracer, &config, &command_rx, &send)
                }));
                match outcome {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        send(Message::Failed(format!("{e:#}")));
                    }
                    Err(_) => {
                        send(Message::Failed("the BPF backend thread panicked".into()));
                    }
                }
            })
            .context("starting the backend thread")?;
        match ready_rx.recv() {
            Ok(Ok(traced)) => Ok(Backend {
                commands,
                thread: Some(thread),
                traced,
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => Err(anyhow!("the backend thread ended while loading")),
        }
    }

    pub fn send(&self, command: Command) -> Result<()> {
        self.commands
            .send(command)
            .map_err(|_| anyhow!("the backend has stopped"))
    }

    /// The kernel's traced set, when tracing is scoped.
    pub fn traced_map(&self) -> Option<BorrowedFd<'_>> {
        self.traced.as_ref().map(|fd| fd.as_fd())
    }

    /// Stops the thread after it has delivered what the kernel still held.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let _ = self.commands.send(Command::Shutdown);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn run(
    tracer: &Tracer,
    config: &BackendConfig,
    commands: &Receiver<Command>,
    send: &dyn Fn(Message) -> bool,
) -> Result<()> {
    let clock = BootClock::now();
    // shared by the ring-buffer callback, which decodes, and this loop,
    // which joins and takes snapshots; never borrowed by both at once, as
    // the callback runs only inside consume_raw_n
    let pipeline = RefCell::new(Pipeline::new(clock));
    let undecodable = RefCell::new(0u64);
    let ring = tracer.ring_buffer(|bytes| {
        if pipeline.borrow_mut().push(bytes).is_err() {
            *undecodable.borrow_mut() += 1;
        }
        0
    })?;

    let applied = tracer.min_duration()?;
    send(Message::MinDuration(Duration::from_nanos(applied)));
    if let Some(gap) = tracer.failed_exec_gap() {
        send(Message::Warning(gap.to_string()));
    }
    if config.use_proc {
        crate::scope::seed(tracer, config.load.scoped, &config.scope, &config.proc_root)?;
    }
    let mut ending = crate::scope::Ending::default();

    // the live table first, before any event: a sink (such as --record)
    // then sees the processes already running ahead of what happens next
    let mut snapshots = Snapshots::default();
    let (taken_at, live) = snapshots.take(tracer, config, &clock);
    pipeline.borrow_mut().joiner().replace(&live, taken_at);
    if !send(Message::Snapshot(pipeline.borrow_mut().joiner().live())) {
        return Ok(());
    }
    let mut ledger = CommandLedger::default();
    if !send_commands(tracer, &mut ledger, &clock, send)? {
        return Ok(());
    }
    let mut reported = Drops::default();
    let mut next_snapshot = Instant::now() + config.snapshot_every;
    let backlog = config.backlog.as_ref();
    let mut undelivered = 0u64;
    loop {
        if backlog.is_some_and(Backlog::full) {
            // the consumer is behind: leave the ring alone, so the kernel
            // drops and counts what does not fit, rather than this process
            // holding it
            thread::sleep(POLL / 4);
        } else {
            // the kernel submits without waking us: the drain below runs
            // after the timeout either way
            wait_for_records(&ring, POLL);
        }
        let stop = drain_commands(tracer, commands, send, &mut ending)
            || ending.due(Instant::now(), || tracer.traced_is_empty())?;
        let drain = Drain {
            ring: &ring,
            pipeline: &pipeline,
            backlog,
            stopping: stop,
        };
        match drain.run(send, &mut undelivered) {
            Drained::HungUp => return Ok(()),
            // a snapshot must come after the exits that ended before it
            Drained::Behind => continue,
            Drained::Empty => {}
        }

        if stop || Instant::now() >= next_snapshot {
            let (taken_at, live) = snapshots.take(tracer, config, &clock);
            let gone = pipeline.borrow_mut().joiner().replace(&live, taken_at);
            if !gone.is_empty() {
                let time = clock.to_wall(taken_at);
                let gone = TraceEvent::Gone {
                    time,
                    processes: gone,
                };
                if !send(Message::Events(vec![gone])) {
                    return Ok(());
                }
            }
            if !send(Message::Snapshot(pipeline.borrow_mut().joiner().live())) {
                return Ok(());
            }
            let mut drops = tracer.drops()?;
            drops.undecodable = *undecodable.borrow();
            if drops != reported {
                reported = drops;
                let time = clock.to_wall(clock::boot_ns());
                send(Message::Events(vec![TraceEvent::Lost { time, drops }]));
            }
            if !send_commands(tracer, &mut ledger, &clock, send)? {
                return Ok(());
            }
            next_snapshot = Instant::now() + config.snapshot_every;
        }
        if stop {
            if undelivered > 0 {
                send(Message::Warning(format!(
                    "stopped with {undelivered} events read from the kernel but not passed \
                     on: the output was not being taken"
                )));
            }
            return Ok(());
        }
    }
}

/// Sends the per-command totals that changed since the last read; false
/// once nobody listens.
fn send_commands(
    tracer: &Tracer,
    ledger: &mut CommandLedger,
    clock: &BootClock,
    send: &dyn Fn(Message) -> bool,
) -> Result<bool> {
    let at = clock.to_wall(clock::boot_ns());
    let inserted = tracer.commands_inserted();
    let update = ledger.refresh(at, inserted, |reading| tracer.read_commands(reading))?;
    Ok(update.is_none_or(|update| send(Message::Commands(update))))
}

/// Sleeps until the kernel wakes the reader or `timeout` passes, without
/// taking anything from the ring.
fn wait_for_records(ring: &RingBuffer, timeout: Duration) {
    let mut event = libc::epoll_event { events: 0, u64: 0 };
    let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    // SAFETY: the epoll fd belongs to `ring`, which outlives the call, and
    // the buffer holds the one event asked for. An error (EINTR) only ends
    // the wait early.
    unsafe { libc::epoll_wait(ring.epoll_fd(), &mut event, 1, ms) };
}

enum Drained {
    /// the ring is empty
    Empty,
    /// the consumer is behind; records stay in the ring
    Behind,
    /// nobody listens any more
    HungUp,
}

/// One drain of the ring buffer, in batches of at most SLICE records.
struct Drain<'a, 'r> {
    ring: &'a RingBuffer<'r>,
    pipeline: &'a RefCell<Pipeline>,
    backlog: Option<&'a Backlog>,
    /// the last drain: everything is taken from the ring, and what the
    /// consumer has no room for is counted in `undelivered`
    stopping: bool,
}

impl Drain<'_, '_> {
    fn run(&self, send: &dyn Fn(Message) -> bool, undelivered: &mut u64) -> Drained {
        loop {
            let full = self.backlog.is_some_and(Backlog::full);
            if full && !self.stopping {
                return Drained::Behind;
            }
            let n = self.ring.consume_raw_n(SLICE);
            if full {
                *undelivered += self.pipeline.borrow_mut().discard_pending() as u64;
            } else if !forward(self.pipeline, send) {
                return Drained::HungUp;
            }
            // fewer than asked (or an error): the ring was empty
            if usize::try_from(n).map_or(true, |n| n < SLICE) {
                return Drained::Empty;
            }
        }
    }
}

/// Carries out pending commands; true when asked to stop.
fn drain_commands(
    tracer: &Tracer,
    commands: &Receiver<Command>,
    send: &dyn Fn(Message) -> bool,
    ending: &mut crate::scope::Ending,
) -> bool {
    loop {
        match commands.try_recv() {
            Ok(Command::SetMinDuration(d)) => match tracer.set_min_duration(duration_ns(d)) {
                Ok(applied) => {
                    send(Message::MinDuration(Duration::from_nanos(applied)));
                }
                Err(e) => {
                    send(Message::CommandFailed(format!("{e:#}")));
                }
            },
            Ok(Command::EndWhenUntraced) => ending.arm(),
            Ok(Command::Shutdown) | Err(TryRecvError::Disconnected) => return true,
            Err(TryRecvError::Empty) => return false,
        }
    }
}

/// Joins and sends what the ring buffer delivered; false once nobody listens.
fn forward(pipeline: &RefCell<Pipeline>, send: &dyn Fn(Message) -> bool) -> bool {
    let events = pipeline.borrow_mut().join_pending();
    if events.is_empty() {
        return true;
    }
    send(Message::Events(events))
}

/// The pid map's records. Records of processes that no longer exist (they
/// ended before the program was attached, or while their exit could not be
/// seen) are removed from the kernel map too, so it cannot leak.
///
/// Processes forked since tracing began that have not exec'd (the workers of
/// a pre-forking server, a subshell) have no record; they are read from
/// /proc, so the live table has them too. Kernel threads are remembered, so
/// they are not read again every second.
/// What each snapshot remembers from the last: kernel threads (not read
/// again every second) and orphans whose parent /proc confirmed.
#[derive(Default)]
struct Snapshots {
    kernel_threads: HashSet<u32>,
    orphans: Orphans,
}

impl Snapshots {
    /// The live set now, and the boot time it was taken at.
    fn take(
        &mut self,
        tracer: &Tracer,
        config: &BackendConfig,
        clock: &BootClock,
    ) -> (u64, Vec<ProcessInfo>) {
        let taken_at = clock::boot_ns();
        let live = snapshot(
            tracer,
            config,
            taken_at,
            clock,
            &mut self.kernel_threads,
            &mut self.orphans,
        );
        (taken_at, live)
    }
}

fn snapshot(
    tracer: &Tracer,
    config: &BackendConfig,
    taken_at: u64,
    clock: &BootClock,
    kernel_threads: &mut HashSet<u32>,
    orphans: &mut Orphans,
) -> Vec<ProcessInfo> {
    let mut live = tracer.snapshot(clock);

    // only records older than a second: a process that has just exec'd
    // is surely alive, and forget() checks the record is still the same one
    let settled = taken_at.saturating_sub(1_000_000_000);
    if config.use_proc && config.forget_gone {
        live.retain(|p| {
            let gone = p.start_boot_ns <= settled && !procfs::exists(p.pid);
            !(gone && tracer.forget(p.pid, p.start_boot_ns))
        });
    }
    if config.use_proc {
        let known: HashSet<u32> = live.iter().map(|p| p.pid).collect();
        let listed: HashSet<u32> = procfs::pid_dirs(&config.proc_root).collect();
        kernel_threads.retain(|pid| listed.contains(pid));
        let unknown: Vec<u32> = listed
            .iter()
            .copied()
            .filter(|p| !known.contains(p) && !kernel_threads.contains(p))
            .filter(|&p| crate::scope::shows(tracer, config.load.scoped, p))
            .collect();
        for pid in unknown {
            match procfs::read(&config.proc_root, pid) {
                procfs::Read::Process(entry) => {
                    if let Some(mut p) = bpf::process_from_proc(&entry, clock) {
                        p.origin = Origin::Forked;
                        live.push(p);
                    }
                }
                procfs::Read::KernelThread => {
                    kernel_threads.insert(pid);
                }
                procfs::Read::Gone => {}
            }
        }
        orphans.reparent(tracer, config, &mut live, kernel_threads);
    }
    live
}

fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
