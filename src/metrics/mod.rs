//! `--metrics ADDR`: a Prometheus exporter of the kernel's per-command
//! totals (so the counts include processes `-d` keeps off the event
//! stream) and of what tracer-tui itself sees and loses.
//!
//! Three parts, so a scrape never slows the event path:
//! - the backend thread sends a `Tick` a second down a channel (it never
//!   waits on this module);
//! - a feed thread applies ticks to the `State`;
//! - an HTTP thread serves GET /metrics, reading the state under a lock
//!   held only while the families are built.

mod collect;
mod server;
pub mod state;

use std::net::SocketAddr;
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread;

use anyhow::{Context, Result};
use prometheus::Registry;

pub use collect::{exposition, lost_kinds, EXPOSED_BOUNDS};
pub use server::{CONNECTION_DEADLINE, HEAD_TIMEOUT, MAX_CLIENTS, MAX_HEAD};
pub use state::{HostTotals, State, Tick, OTHER};

/// Where the backend sends its ticks.
pub type Feed = Sender<Tick>;

/// The default of --metrics-max-commands.
pub const DEFAULT_MAX_COMMANDS: usize = 500;

/// A running exporter: its threads live as long as the process.
pub struct Exporter {
    feed: Feed,
    addr: SocketAddr,
}

impl Exporter {
    /// Binds `addr` at once (so a bad address or a port in use is an error
    /// before tracing starts), then starts the feed and HTTP threads.
    pub fn start(addr: SocketAddr, max_commands: usize) -> Result<Exporter> {
        let listener = std::net::TcpListener::bind(addr)
            .with_context(|| format!("--metrics cannot listen on {addr}"))?;
        let addr = listener.local_addr().unwrap_or(addr);
        listener
            .set_nonblocking(true)
            .context("--metrics: setting up the listening socket")?;

        let state = Arc::new(Mutex::new(State::new(max_commands)));
        let exposed = Arc::clone(&state);
        raise_open_file_limit(server::MAX_CLIENTS as u64 + 256);
        let registry = Registry::new();
        let collector = collect::StateCollector::new(Arc::clone(&state))
            .context("--metrics: describing the metrics")?;
        registry
            .register(Box::new(collector))
            .context("--metrics: registering the metrics")?;
        registry
            .register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ))
            .context("--metrics: registering the process metrics")?;

        let (feed, ticks) = mpsc::channel::<Tick>();
        thread::Builder::new()
            .name("metrics-feed".into())
            .spawn(move || {
                for tick in ticks {
                    state.lock().unwrap_or_else(|p| p.into_inner()).apply(&tick);
                }
            })
            .context("starting the metrics feed thread")?;

        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .context("--metrics: starting the HTTP runtime")?;
        let listener = {
            let _inside = runtime.enter();
            tokio::net::TcpListener::from_std(listener)
                .context("--metrics: setting up the listening socket")?
        };
        let generation = Box::new(move || {
            let state = exposed.lock().unwrap_or_else(|p| p.into_inner());
            state.generation
        });
        let exposition = Arc::new(server::Exposition::new(registry, generation));
        thread::Builder::new()
            .name("metrics-http".into())
            .spawn(move || runtime.block_on(server::serve(listener, exposition)))
            .context("starting the metrics HTTP thread")?;
        Ok(Exporter { feed, addr })
    }

    /// A sender for the backend's ticks.
    pub fn feed(&self) -> Feed {
        self.feed.clone()
    }

    /// The address served (with the port the kernel chose for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// Raises the soft open-file limit to `want`, within the hard limit: the
/// default soft limit (1,024) would end accepting before MAX_CLIENTS, with
/// the BPF maps' descriptors counted. Best effort: a lower limit only
/// means fewer clients at once.
fn raise_open_file_limit(want: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit with a valid rlimit struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < want {
            limit.rlim_cur = want.min(limit.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}
