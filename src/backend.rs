//! The kernel source: a thread that owns the BPF program, drains its ring
//! buffer and joins exits with their execs. Fork, exec, exit, ended and
//! reparent events keep the live table; the pid map is read now and then
//! to reconcile with it. The rest of the program sees only typed messages
//! on a channel.

use std::cell::RefCell;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};

use libbpf_rs::RingBuffer;

use crate::backlog::{self, Backlog};
use crate::bpf::{LoadOptions, Tracer};
use crate::clock::{self, BootClock};
use crate::command_ledger::CommandLedger;
use crate::event::{Drops, ProcessInfo, TraceEvent};
use crate::pipeline::Pipeline;
use crate::procfs;
pub use crate::source::{Command, Message};

/// How long the reader sleeps between drains when the kernel does not wake
/// it: the upper bound on how late a quiet system's event is shown.
const POLL: Duration = Duration::from_millis(40);

/// How often the drop counters and per-command totals are read: both are
/// small, and a drop brings the next reconcile forward.
const TICK: Duration = Duration::from_secs(1);

/// How old a record in the pid map must be for a reconcile to tell of it
/// rather than wait for its fork or exec event (read from the ring within
/// POLL, unless the consumer is behind).
const IN_FLIGHT_NS: u64 = 1_000_000_000;

/// Most records taken from the ring buffer per batch: a full ring is sent
/// in several batches, so a consumer that falls behind stops the drain
/// between them, and one batch's memory stays small.
const SLICE: usize = 4_096;

#[derive(Clone, Debug)]
pub struct BackendConfig {
    pub load: LoadOptions,
    pub min_duration: Duration,
    /// How often the pid map is read to reconcile the live table with it
    /// (events alone keep it in between; a drop or a stall brings the next
    /// read forward to the next second).
    pub snapshot_every: Duration,
    pub proc_root: PathBuf,
    /// Seed the pid map from /proc at start. Only meaningful when /proc
    /// shows the kernel's own pids.
    pub use_proc: bool,
    /// After seeding, remove the records of seeded processes that have
    /// already ended (off only in tests that check the kernel program
    /// leaves nothing behind on its own).
    pub forget_gone: bool,
    /// The bound on events sent but not yet handled, shared with the
    /// consumer, which takes off what it has handled; None for a consumer
    /// that takes every message as it comes.
    pub backlog: Option<Backlog>,
    /// Scoped tracing: the running processes to follow (--pid).
    pub scope: crate::scope::BackendScope,
    /// --metrics: where each second's per-command growth and host totals go
    pub metrics: Option<crate::metrics::Feed>,
}

impl BackendConfig {
    pub fn new(load: LoadOptions, min_duration: Duration) -> Self {
        Self {
            load,
            min_duration,
            snapshot_every: Duration::from_secs(10),
            proc_root: PathBuf::from("/proc"),
            // in a child pid namespace /proc shows other numbers than the kernel's
            use_proc: procfs::in_initial_pid_namespace(),
            forget_gone: true,
            backlog: None,
            scope: crate::scope::BackendScope::default(),
            metrics: None,
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
    // /proc is read once, here: from now on the kernel reports every new
    // process at its fork
    if config.use_proc {
        let seeded =
            crate::scope::seed(tracer, config.load.scoped, &config.scope, &config.proc_root)?;
        if config.forget_gone {
            forget_ended_seeds(tracer, &seeded);
        }
    }
    let mut ending = crate::scope::Ending::default();

    // the live table first, before any event: a sink (such as --record)
    // then sees the processes already running ahead of what happens next
    let (taken_at, live) = reconcile(tracer, &clock);
    pipeline.borrow_mut().joiner().replace(&live, taken_at);
    if !send(Message::Snapshot(pipeline.borrow_mut().joiner().live())) {
        return Ok(());
    }
    let mut ledger = CommandLedger::default();
    if config.metrics.is_some() {
        ledger.keep_growth();
    }
    if !send_commands(tracer, &mut ledger, &clock, send)? {
        return Ok(());
    }
    let mut reported = Drops::default();
    // the exporter's first figures now, not a second from now
    feed_metrics(tracer, config, &mut ledger, &pipeline, tracer.drops()?)?;
    let mut next_tick = Instant::now() + TICK;
    let mut next_reconcile = Instant::now() + config.snapshot_every;
    let backlog = config.backlog.as_ref();
    let mut undelivered = 0u64;
    let mut stalled = false;
    loop {
        if backlog.is_some_and(Backlog::full) {
            stalled = true;
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
        let behind = match drain.run(send, &mut undelivered) {
            Drained::HungUp => return Ok(()),
            Drained::Behind => true,
            Drained::Empty => false,
        };

        let now = Instant::now();
        // a snapshot must come after the exits that ended before it: not
        // while records wait in the ring (the counters below go on, so
        // the metrics do not freeze while the output is behind)
        if !behind && (stop || now >= next_reconcile) {
            let taken_at = clock::boot_ns();
            let (live, held) = {
                let pipeline = pipeline.borrow();
                let joined = pipeline.joined();
                tracer.snapshot_known(&clock, |pid, start, exec| {
                    joined.holds(pid, start, clock.to_wall(exec))
                })
            };
            // events of the last moments may still be in the ring
            let in_flight = taken_at.saturating_sub(IN_FLIGHT_NS);
            let gone = pipeline.borrow_mut().joiner().reconcile(
                &live,
                &held,
                taken_at,
                (in_flight, clock.to_wall(in_flight)),
            );
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
            // the live set is sent only when the map told what events had
            // not: with 10,000 live processes it costs the dashboard 30 ms
            let changed = pipeline.borrow_mut().joiner().replace_changed();
            if changed && !send(Message::Snapshot(pipeline.borrow_mut().joiner().live())) {
                return Ok(());
            }
            next_reconcile = Instant::now() + config.snapshot_every;
        }
        if stop || now >= next_tick {
            let mut drops = tracer.drops()?;
            drops.undecodable = *undecodable.borrow();
            if drops != reported {
                reported = drops;
                let time = clock.to_wall(clock::boot_ns());
                send(Message::Events(vec![TraceEvent::Lost { time, drops }]));
                // events were lost: what they would have told is in the map
                next_reconcile = next_reconcile.min(now + TICK);
            }
            if std::mem::take(&mut stalled) {
                next_reconcile = next_reconcile.min(now + TICK);
            }
            if !send_commands(tracer, &mut ledger, &clock, send)? {
                return Ok(());
            }
            feed_metrics(tracer, config, &mut ledger, &pipeline, drops)?;
            next_tick = now + TICK;
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

/// Sends the exporter (with --metrics) the commands' growth since the last
/// read and the host's totals.
fn feed_metrics(
    tracer: &Tracer,
    config: &BackendConfig,
    ledger: &mut CommandLedger,
    pipeline: &RefCell<Pipeline>,
    drops: Drops,
) -> Result<()> {
    let Some(feed) = &config.metrics else {
        return Ok(());
    };
    let host = crate::metrics::HostTotals {
        execs: tracer.execs()?,
        live: pipeline.borrow().joined().live_count() as u64,
        drops,
        commands_unseen: ledger.unseen(),
    };
    // the exporter gone (it never stops first) changes nothing here
    let _ = feed.send(crate::metrics::Tick {
        seconds: clock::boot_ns() as f64 / 1e9,
        growth: ledger.take_growth(),
        host,
    });
    Ok(())
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

/// Records the pid map, read once at start, holds for processes that
/// ended between the /proc scan and the seed (their exit came before their
/// record, so no event will remove them): each seeded pid is asked of the
/// kernel once, and the records of those gone are removed.
fn forget_ended_seeds(tracer: &Tracer, seeded: &[procfs::ProcEntry]) {
    for entry in seeded {
        if !procfs::exists(entry.pid) {
            tracer.forget(entry.pid, entry.start_boot_ns);
        }
    }
}

/// The live set by the pid map, read at the boot time returned.
fn reconcile(tracer: &Tracer, clock: &BootClock) -> (u64, Vec<ProcessInfo>) {
    let taken_at = clock::boot_ns();
    (taken_at, tracer.snapshot(clock))
}

fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
