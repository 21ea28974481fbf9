//! The kernel backend as the integration tests drive it: every message
//! collected by pid, with helpers to wait for what a test expects.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use tracer_tui::app::{App, AppConfig};
use tracer_tui::backend::{Backend, BackendConfig, Message};
use tracer_tui::backlog::{self, Backlog};
use tracer_tui::bpf::LoadOptions;
use tracer_tui::event::{CommandTotals, Drops, ExitInfo, FailedExec, ProcessInfo, TraceEvent};

pub struct Tracing {
    pub backend: Backend,
    pub rx: Receiver<Message>,
    pub execs: HashMap<u32, ProcessInfo>,
    pub exits: HashMap<u32, ExitInfo>,
    pub exit_count: HashMap<u32, usize>,
    pub failed: Vec<FailedExec>,
    pub snapshots: Vec<Vec<ProcessInfo>>,
    pub drops: Drops,
    pub min_duration: Option<Duration>,
    /// the newest per-command totals, by name
    pub commands: HashMap<String, CommandTotals>,
    /// per-command updates received, and the restarts they reported
    pub command_updates: usize,
    pub restarted: u64,
    /// names the kernel took in and evicted between two reads
    pub unseen: u64,
    /// fork events, by pid
    pub forks: HashMap<u32, ProcessInfo>,
    /// (parent, reaper) of each reparenting, in order
    pub reparents: Vec<(u32, u32)>,
    /// processes reported gone without an exit (the filter kept it back)
    pub gone: Vec<u32>,
    /// the dashboard's state, fed every message, when asked for
    pub app: Option<App>,
    /// the bound on what waits, when the test set one: taken off as read
    pub backlog: Option<Backlog>,
}

impl Tracing {
    pub fn start(min_duration: Duration) -> Tracing {
        Self::start_with(min_duration, true, 65536)
    }

    /// `forget_gone: false` leaves the pid map as the kernel program keeps it.
    pub fn start_with(min_duration: Duration, forget_gone: bool, max_processes: u32) -> Tracing {
        Self::start_config(min_duration, max_processes, |c| c.forget_gone = forget_gone)
    }

    /// With the dashboard's App fed every message (its live table is what
    /// a person sees), and the backend's config adjusted by `adjust`.
    pub fn start_live(min_duration: Duration, adjust: impl FnOnce(&mut BackendConfig)) -> Tracing {
        let mut t = Self::start_config(min_duration, 65536, adjust);
        let mut app = App::new(AppConfig {
            max_finished: 100_000,
            min_duration,
            filter_in_app: false,
            users: HashMap::new(),
            host: Default::default(),
        });
        for s in &t.snapshots {
            app.apply(Message::Snapshot(s.clone()));
        }
        t.app = Some(app);
        t
    }

    pub fn start_config(
        min_duration: Duration,
        max_processes: u32,
        adjust: impl FnOnce(&mut BackendConfig),
    ) -> Tracing {
        let (tx, rx) = mpsc::channel();
        let load = LoadOptions {
            ring_buffer_bytes: 16 << 20,
            max_processes,
            verbose: false,
            btf: None,
            failed_execs: true,
            scoped: false,
        };
        let mut config = BackendConfig::new(load, min_duration);
        // a reconcile with the pid map each second, as the tests written
        // before the event-driven live table expect; `adjust` may change it
        config.snapshot_every = Duration::from_secs(1);
        adjust(&mut config);
        let backlog = config.backlog.clone();
        let backend = Backend::start(config, tx).expect("load BPF");
        let mut t = Tracing {
            backend,
            rx,
            execs: HashMap::new(),
            exits: HashMap::new(),
            exit_count: HashMap::new(),
            failed: Vec::new(),
            snapshots: Vec::new(),
            drops: Drops::default(),
            min_duration: None,
            commands: HashMap::new(),
            command_updates: 0,
            restarted: 0,
            unseen: 0,
            forks: HashMap::new(),
            reparents: Vec::new(),
            gone: Vec::new(),
            app: None,
            backlog,
        };
        // the processes running before tracing are read from /proc right
        // after the program attaches: a test's own processes come after
        assert!(
            t.until(Duration::from_secs(5), |t| !t.snapshots.is_empty()),
            "no first snapshot"
        );
        t
    }

    /// Takes in messages until `done` holds or `timeout` passes; returns `done`'s last answer.
    pub fn until(&mut self, timeout: Duration, mut done: impl FnMut(&Tracing) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if done(self) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            match self.rx.recv_timeout(left.min(Duration::from_millis(50))) {
                Ok(m) => self.take(m),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(e) => panic!("backend hung up: {e}"),
            }
        }
    }

    pub fn take(&mut self, message: Message) {
        if let Some(b) = &self.backlog {
            b.taken(backlog::weight(&message));
        }
        if let Some(app) = &mut self.app {
            app.apply(message.clone());
        }
        match message {
            Message::Events(events) => {
                for event in events {
                    match event {
                        TraceEvent::Exec(p) => {
                            self.execs.insert(p.pid, p);
                        }
                        TraceEvent::Exit(e) => {
                            *self.exit_count.entry(e.process.pid).or_default() += 1;
                            self.exits.insert(e.process.pid, e);
                        }
                        TraceEvent::ExecFailed(f) => self.failed.push(f),
                        TraceEvent::Gone { processes, .. } => {
                            self.gone.extend(processes.iter().map(|&(pid, _)| pid))
                        }
                        TraceEvent::Fork(p) => {
                            self.forks.insert(p.pid, p);
                        }
                        TraceEvent::Reparent { parent, reaper, .. } => {
                            self.reparents.push((parent, reaper))
                        }
                        TraceEvent::Lost { drops, .. } => self.drops = drops,
                    }
                }
            }
            Message::Snapshot(s) => self.snapshots.push(s),
            Message::MinDuration(d) => self.min_duration = Some(d),
            Message::CommandFailed(e) | Message::Failed(e) | Message::Warning(e) => {
                panic!("backend: {e}")
            }
            Message::Commands(update) => {
                self.command_updates += 1;
                self.restarted += update.restarted;
                self.unseen = self.unseen.max(update.unseen);
                for t in update.changed {
                    // totals since start never go down, evictions or not
                    if let Some(old) = self.commands.get(&t.comm) {
                        assert!(t.runs >= old.runs, "{} went from {old:?} to {t:?}", t.comm);
                    }
                    self.commands.insert(t.comm.clone(), t);
                }
            }
            Message::Clock(_) | Message::End => panic!("the kernel source sent a replay message"),
        }
    }

    pub fn exit_of(&mut self, pid: u32) -> ExitInfo {
        assert!(
            self.until(Duration::from_secs(5), |t| t.exits.contains_key(&pid)),
            "no exit reported for pid {pid}"
        );
        self.exits[&pid].clone()
    }

    /// The dashboard's live row of a process (start_live only).
    pub fn live(&self, pid: u32) -> Option<ProcessInfo> {
        let app = self.app.as_ref().expect("started with start_live");
        app.live_row(pid).map(|row| row.info.clone())
    }

    /// The dashboard's live set after a reconcile with the pid map has had
    /// time to run (each second in tests; start_live only).
    pub fn live_after_reconcile(&mut self) -> Vec<ProcessInfo> {
        self.until(Duration::from_millis(1200), |_| false);
        let app = self.app.as_ref().expect("started with start_live");
        app.store.live_rows().map(|row| row.info.clone()).collect()
    }

    /// Waits for one more snapshot and returns it.
    pub fn next_snapshot(&mut self) -> Vec<ProcessInfo> {
        let n = self.snapshots.len();
        assert!(
            self.until(Duration::from_secs(5), |t| t.snapshots.len() > n),
            "no snapshot"
        );
        self.snapshots.last().cloned().unwrap_or_default()
    }
}

pub fn run(cmd: &str, args: &[&str]) -> u32 {
    let mut child = Command::new(cmd)
        .args(args)
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    child.wait().expect("wait");
    pid
}
