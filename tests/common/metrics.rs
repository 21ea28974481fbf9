//! The `--metrics` exporter and a real Prometheus, as the integration tests
//! drive them: start tracer-tui serving metrics, GET a path, start a
//! Prometheus that scrapes it, and ask Prometheus's HTTP API.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The address to pass to --metrics so the kernel picks a free port (the
/// exporter prints the one it bound): tests running side by side, or
/// another exporter on the host, cannot clash on a fixed port.
pub const ANY_PORT: &str = "127.0.0.1:0";

/// Loading and attaching BPF takes a second or two; on a busy host more.
const EXPORTER_READY_WITHIN: Duration = Duration::from_secs(20);
/// How long a stopped child may take to end before it is killed.
const STOP_WITHIN: Duration = Duration::from_secs(5);
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// The skip policy of `require_bpf`, for an external tool: without it a
/// test skips with a reason, except under CI=true or TRACER_REQUIRE_BPF=1
/// (`make test` installs it, so there a missing tool is a failure).
pub fn require_tool(test: &str, tool: &str) -> bool {
    let found = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return true;
    }
    let required = std::env::var("CI").is_ok_and(|v| v == "true")
        || std::env::var("TRACER_REQUIRE_BPF").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "{test}: needs {tool} (scripts/install-deps.sh --test installs it)"
    );
    eprintln!("skipping {test}: needs {tool} (scripts/install-deps.sh --test installs it)");
    false
}

/// Interrupts a child and waits for it; kills it if it does not end.
pub fn stop_child(child: &mut Child) -> Option<std::process::ExitStatus> {
    if let Ok(Some(status)) = child.try_wait() {
        return Some(status);
    }
    // SAFETY: kill with a pid we spawned and have not yet reaped.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let deadline = Instant::now() + STOP_WITHIN;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// `tracer-tui --metrics ...`, running until dropped (SIGINT, then SIGKILL
/// if it does not end).
pub struct Exporter {
    child: Child,
    addr: SocketAddr,
    stderr: Arc<Mutex<String>>,
}

impl Exporter {
    /// Starts tracer-tui with `args`, which must include `--metrics ADDR`
    /// (ANY_PORT for a free port), and returns once it says where it
    /// serves: it prints that after the kernel program is attached, so
    /// every process started after this returns is counted.
    pub fn start(args: &[&str]) -> Exporter {
        Exporter::start_with(args, Stdio::null())
    }

    /// As `start`, with its stdout going to `stdout` (a pipe left in the
    /// child's handle, `Stdio::piped()`, is never read: a stalled reader).
    pub fn start_with(args: &[&str], stdout: Stdio) -> Exporter {
        let mut child = Command::new(super::bin())
            .args(args)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tracer-tui");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (ready_tx, ready_rx) = mpsc::channel::<SocketAddr>();
        let pipe = child.stderr.take().expect("stderr");
        // read stderr to its end, so a chatty child never blocks on a full pipe
        std::thread::spawn({
            let stderr = Arc::clone(&stderr);
            move || {
                for line in BufReader::new(pipe).split(b'\n') {
                    let Ok(line) = line else { break };
                    let line = String::from_utf8_lossy(&line).into_owned();
                    if let Some(addr) = serving_addr(&line) {
                        let _ = ready_tx.send(addr);
                    }
                    let mut all = stderr.lock().unwrap_or_else(|p| p.into_inner());
                    all.push_str(&line);
                    all.push('\n');
                }
            }
        });
        match ready_rx.recv_timeout(EXPORTER_READY_WITHIN) {
            Ok(addr) => Exporter {
                child,
                addr,
                stderr,
            },
            Err(e) => {
                let status = stop_child(&mut child);
                let text = stderr.lock().unwrap_or_else(|p| p.into_inner()).clone();
                panic!(
                    "tracer-tui {args:?} never said where it serves metrics ({e}; \
                     exit {status:?}); stderr:\n{text}"
                );
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The address served, with the port the kernel chose.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What tracer-tui wrote on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// GET /metrics, which must answer 200.
    pub fn scrape(&self) -> String {
        let (status, body) = http_get(self.addr, "/metrics");
        assert_eq!(
            status,
            200,
            "GET /metrics answered {status}: {body}\nstderr:\n{}",
            self.stderr()
        );
        body
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        stop_child(&mut self.child);
    }
}

/// The address in `tracer-tui: serving metrics at http://ADDR/metrics`.
fn serving_addr(line: &str) -> Option<SocketAddr> {
    line.strip_prefix("tracer-tui: serving metrics at http://")?
        .strip_suffix("/metrics")?
        .parse()
        .ok()
}

/// A plain HTTP/1.0 GET (the server closes the connection after one
/// response, so the body is everything up to the close): the status and
/// the body. Panics when the server cannot be reached or does not answer
/// within IO_TIMEOUT.
pub fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)
        .unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
    stream.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
    stream.set_write_timeout(Some(IO_TIMEOUT)).expect("timeout");
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")
        .unwrap_or_else(|e| panic!("send GET {path} to {addr}: {e}"));
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .unwrap_or_else(|e| panic!("read the answer to GET {path} from {addr}: {e}"));
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("GET {path} from {addr}: no end of head in {text:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("GET {path} from {addr}: bad status line in {head:?}"));
    (status, body.to_string())
}

/// Now, in the seconds since the epoch that Prometheus stamps samples with.
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64()
}

/// Calls `probe` every 200 ms until it answers, or panics after `timeout`
/// with `what` and the last thing `describe` says.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Option<T>,
    describe: impl Fn() -> String,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(found) = probe() {
            return found;
        }
        if Instant::now() > deadline {
            panic!(
                "timed out after {timeout:?} waiting for {what}; {}",
                describe()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// One sample line of a text exposition.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, name: &str) -> &str {
        self.labels.get(name).map_or("", String::as_str)
    }
}

/// The sum of the samples of `name` that have these labels.
pub fn sum(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name && labels.iter().all(|(k, v)| s.label(k) == *v))
        .map(|s| s.value)
        .sum()
}

/// Parses the text format 0.0.4 (the samples; comments skipped), undoing
/// the escapes of label values (`\\`, `\"`, `\n`). Panics on a line that
/// does not parse, naming it.
pub fn parse_exposition(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| parse_sample(line).unwrap_or_else(|| panic!("bad sample line {line:?}")))
        .collect()
}

fn parse_sample(line: &str) -> Option<Sample> {
    let name_end = line.find(['{', ' '])?;
    let name = line[..name_end].to_string();
    let mut labels = BTreeMap::new();
    let mut rest = &line[name_end..];
    if let Some(inner) = rest.strip_prefix('{') {
        let mut chars = inner.char_indices();
        loop {
            // label name up to '=', or the end of the set
            let (start, c) = chars.next()?;
            if c == '}' {
                rest = &inner[start + 1..];
                break;
            }
            let mut key_end = start;
            let mut c = c;
            while c != '=' {
                let (i, next) = chars.next()?;
                key_end = i;
                c = next;
            }
            let key = inner[start..key_end].trim_start_matches(',').to_string();
            if chars.next()?.1 != '"' {
                return None;
            }
            let mut value = String::new();
            loop {
                match chars.next()?.1 {
                    '"' => break,
                    '\\' => match chars.next()?.1 {
                        'n' => value.push('\n'),
                        c @ ('\\' | '"') => value.push(c),
                        _ => return None,
                    },
                    c => value.push(c),
                }
            }
            labels.insert(key, value);
        }
    }
    let value = rest.trim().split(' ').next()?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    Some(Sample {
        name,
        labels,
        value,
    })
}
