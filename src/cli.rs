//! Command-line options, and their conversion into a plain run config.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// See every process that starts and ends on this machine, including the
/// ones that live for a millisecond.
#[derive(Parser, Debug, Clone, PartialEq)]
#[command(name = "tracer-tui", version, about)]
pub struct Cli {
    /// Only report exits of processes that lived at least this long
    /// (e.g. 150ms, 2s, 1m; a bare number, such as 1.5, is milliseconds)
    #[arg(short = 'd', long = "min-duration", value_name = "DURATION",
          default_value = "0", value_parser = parse_min_duration)]
    pub min_duration: Duration,

    /// Print one line per event (TIME EVENT COMM PID PPID FILENAME/EXIT CODE)
    /// instead of the dashboard
    #[arg(long, conflicts_with = "json")]
    pub stream: bool,

    /// Print one JSON object per event (NDJSON) instead of the dashboard
    #[arg(long)]
    pub json: bool,

    /// Open a file written by --json or --record in the dashboard instead of
    /// tracing (needs no privilege)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["stream", "json", "record"])]
    pub replay: Option<PathBuf>,

    /// Replay at this many times the recorded pace, from 0.01 to 10000
    /// (0.5 is half speed); only with --replay
    // conflicts as well as requires: clap waives a requirement that
    // conflicts with a flag given, so `--json --speed 2` would pass
    #[arg(long, value_name = "FACTOR", default_value = "1", value_parser = parse_speed,
          allow_negative_numbers = true, requires = "replay",
          conflicts_with_all = ["stream", "json", "record"])]
    pub speed: f64,

    /// Save every event as NDJSON to FILE while the dashboard runs
    #[arg(long, value_name = "FILE", conflicts_with_all = ["stream", "json"])]
    pub record: Option<PathBuf>,

    /// With --record, replace FILE if it exists: only a regular file of
    /// your own (without --force an existing file is refused)
    #[arg(long, requires = "record")]
    pub force: bool,

    /// Finished processes the dashboard keeps; older ones are evicted and counted
    #[arg(long, value_name = "N", default_value = "100000",
          value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub max_finished: u64,

    /// Print libbpf's debug log to stderr
    #[arg(short, long)]
    pub verbose: bool,

    /// Kernel ring buffer size in MiB (a power of two)
    #[arg(long = "ring-buffer", value_name = "MIB", default_value = "16",
          value_parser = parse_ring_mib)]
    pub ring_buffer_mib: u32,

    /// Processes the kernel's pid map can hold at once (each record takes
    /// 840 bytes of kernel memory, allocated as processes arrive)
    #[arg(long, value_name = "N", default_value = "65536",
          value_parser = clap::value_parser!(u32).range(16..=4_194_304))]
    pub max_processes: u32,

    /// BTF file describing the kernel, for kernels without /sys/kernel/btf/vmlinux
    #[arg(long, value_name = "FILE")]
    pub btf: Option<PathBuf>,

    /// Trace only this running process and what it starts from then on;
    /// stops when they have all ended
    #[arg(long, value_name = "PID", value_parser = clap::value_parser!(u32).range(1..=i32::MAX as i64),
          conflicts_with_all = ["command", "replay"])]
    pub pid: Option<u32>,

    /// Run COMMAND as USER, with USER's groups (needs root)
    // conflicts as well as requires: clap waives a requirement that
    // conflicts with a flag given (--pid conflicts with COMMAND)
    #[arg(
        short = 'u',
        long = "user",
        value_name = "USER",
        requires = "command",
        conflicts_with = "pid"
    )]
    pub user: Option<String>,

    /// At the end, print a table of what each command used on stderr
    /// (runs, failures, durations, CPU, memory)
    #[arg(long, conflicts_with = "replay")]
    pub summary: bool,

    /// Serve Prometheus metrics at http://ADDR/metrics, such as
    /// 127.0.0.1:9464 or [::1]:9464 (per-command exits, CPU and durations,
    /// counted by the kernel, also for processes -d filters)
    #[arg(long, value_name = "ADDR", value_parser = parse_metrics_addr,
          conflicts_with = "replay")]
    pub metrics: Option<SocketAddr>,

    /// With --metrics: command names given series of their own (up to
    /// 10000); the rest count in comm="other", and a far busier one takes
    /// the place of the least active
    #[arg(long, value_name = "N", default_value = "500",
          value_parser = clap::value_parser!(u32).range(1..=10_000),
          requires = "metrics")]
    pub metrics_max_commands: u32,

    /// Print no events: for a service serving --metrics (or with --summary)
    #[arg(short = 'q', long,
          conflicts_with_all = ["stream", "json", "record", "replay"])]
    pub quiet: bool,

    /// Run COMMAND (after --) and trace only it and its descendants;
    /// tracer-tui exits with its status
    #[arg(last = true, value_name = "COMMAND", conflicts_with = "replay")]
    pub command: Vec<OsString>,
}

/// A clap error as one line: its first line, and the arguments it lists
/// on the indented lines below (a missing required argument is named only
/// there), without the usage and hint.
pub fn error_line(error: &clap::Error) -> String {
    // only -u requires COMMAND: say so in its terms rather than clap's
    if error.kind() == clap::error::ErrorKind::MissingRequiredArgument
        && error
            .to_string()
            .lines()
            .take_while(|l| !l.starts_with("Usage"))
            .any(|l| l.contains("<COMMAND>"))
    {
        return "-u USER needs a command to run: tracer-tui -u USER -- COMMAND [ARGS...]".into();
    }
    let text = error.to_string();
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("invalid arguments");
    let mut line = first.trim_start_matches("error: ").trim_end().to_string();
    for listed in lines.take_while(|l| l.starts_with("  ")) {
        line.push(' ');
        line.push_str(listed.trim());
    }
    line
}

/// How the program shows what it sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Dashboard,
    Stream,
    Json,
    /// --quiet, or --summary alone: nothing on stdout (the summary's
    /// table goes to stderr at the end)
    Quiet,
}

impl Cli {
    pub fn mode(&self) -> Mode {
        if self.json {
            Mode::Json
        } else if self.stream {
            Mode::Stream
        } else if self.quiet || (self.summary && self.replay.is_none() && self.record.is_none()) {
            Mode::Quiet
        } else {
            Mode::Dashboard
        }
    }

    /// What is traced: a command given after --, a --pid, or the host.
    pub fn target(&self) -> crate::scope::Target {
        use crate::scope::Target;
        if let Some(pid) = self.pid {
            Target::Pid(pid)
        } else if !self.command.is_empty() {
            Target::Command {
                argv: self.command.clone(),
                user: self.user.clone(),
            }
        } else {
            Target::Host
        }
    }

    pub fn scoped(&self) -> bool {
        self.target().scoped()
    }

    pub fn load_options(&self) -> crate::bpf::LoadOptions {
        crate::bpf::LoadOptions {
            ring_buffer_bytes: self.ring_buffer_mib << 20,
            max_processes: self.max_processes,
            verbose: self.verbose,
            btf: self.btf.clone(),
            // --quiet shows no event, and no metric or summary counts
            // failed execs: their hooks (and their tracefs ids, which need
            // more privilege than a service is given) are left out
            failed_execs: !self.quiet || self.summary,
            scoped: self.scoped(),
        }
    }
}

/// Parses a duration for the min-duration filter: humantime text, or a bare
/// number of milliseconds as the original tracer took.
pub fn parse_min_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration (try 150ms or 2s)".into());
    }
    let d = if let Some(ms) = bare_milliseconds(text) {
        ms.ok_or_else(|| format!("{text} is too large"))?
    } else {
        humantime::parse_duration(text).map_err(|e| format!("{e} (try 150ms or 2s)"))?
    };
    if d > MAX_MIN_DURATION {
        return Err(format!("{text} is longer than the limit of 365 days"));
    }
    Ok(d)
}

/// A bare number (`150`, `1.5`) is milliseconds: Some(None) when it
/// overflows, None when the text is not a bare number. Decimal digits are
/// taken exactly, to the nanosecond, not through a float.
fn bare_milliseconds(text: &str) -> Option<Option<Duration>> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) || text.ends_with('.') {
        return None;
    }
    // six decimals of a millisecond are nanoseconds; finer ones cannot count
    let mut ns_digits: String = fraction.chars().take(6).collect();
    while ns_digits.len() < 6 {
        ns_digits.push('0');
    }
    let ms = whole.parse::<u64>().ok();
    let ns = ns_digits.parse::<u64>().ok();
    Some(
        ms.zip(ns)
            .and_then(|(ms, ns)| ms.checked_mul(1_000_000)?.checked_add(ns))
            .map(Duration::from_nanos),
    )
}

/// Beyond this a filter means nothing, and the kernel's u64 nanoseconds stay far from overflow.
pub const MAX_MIN_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

/// The --speed range: slower than a hundredth of the pace shows nothing
/// moving; faster than 10000 times outruns the drawing of frames anyway.
pub const SPEED_RANGE: std::ops::RangeInclusive<f64> = 0.01..=10_000.0;

fn parse_speed(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(f) if f.is_finite() && SPEED_RANGE.contains(&f) => Ok(f),
        _ => Err(
            "a speed is a factor of the recorded pace from 0.01 (a hundredth) to 10000, such as 0.5 or 10"
                .into(),
        ),
    }
}

/// An address to serve metrics on: an IP address and a port.
fn parse_metrics_addr(text: &str) -> Result<SocketAddr, String> {
    text.trim().parse().map_err(|_| {
        format!("{text:?} is not an IP address and port, such as 127.0.0.1:9464 or [::1]:9464")
    })
}

fn parse_ring_mib(text: &str) -> Result<u32, String> {
    let mib: u32 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number of MiB"))?;
    if !mib.is_power_of_two() || mib > 1024 {
        return Err(format!("{mib} is not a power of two from 1 to 1024"));
    }
    Ok(mib)
}

#[cfg(test)]
mod tests;
