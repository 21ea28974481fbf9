//! A real Prometheus, as the integration tests run it: its own temporary
//! config and database, scraping one target, asked through its HTTP API.

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::metrics::{http_get, parse_exposition, stop_child, wait_for, Sample, IO_TIMEOUT};

const PROMETHEUS_READY_WITHIN: Duration = Duration::from_secs(30);

/// Percent-encodes a query string value: everything but unreserved bytes.
pub fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A PromQL string literal holding exactly `text`. Characters past ASCII
/// go as `\u` escapes: Prometheus's lexer takes a literal U+FFFD (what an
/// invalid byte in a name becomes) for a decoding error and refuses the
/// query.
pub fn promql_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c if c.is_ascii_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c if c.is_ascii() => out.push(c),
            c if u32::from(c) <= 0xffff => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push_str(&format!("\\U{:08x}", u32::from(c))),
        }
    }
    out.push('"');
    out
}

/// One sample of an instant query, or one series of a range query.
#[derive(Clone, Debug)]
pub struct Series {
    pub labels: BTreeMap<String, String>,
    /// (unix seconds, value): one for an instant vector, all in the range
    /// for a range vector
    pub samples: Vec<(f64, f64)>,
}

impl Series {
    pub fn label(&self, name: &str) -> &str {
        self.labels.get(name).map_or("", String::as_str)
    }

    /// The newest value.
    pub fn value(&self) -> f64 {
        self.samples.last().map_or(f64::NAN, |s| s.1)
    }
}

/// A Prometheus of its own (a temporary config and database), scraping one
/// target every second, running until dropped.
pub struct Prometheus {
    child: Child,
    addr: SocketAddr,
    dir: tempfile::TempDir,
    pub job: String,
}

impl Prometheus {
    /// Starts it scraping `target`'s /metrics as job `job`, and returns
    /// once it is ready to answer queries.
    pub fn start(job: &str, target: SocketAddr) -> Prometheus {
        let mut dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("prometheus.yml");
        // a scrape each second, so a test waits seconds, not the default minute
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: {job}\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .expect("write prometheus.yml");
        // Prometheus cannot tell which port it bound, so take a free one
        // and hand it over; another process may take it meanwhile, so try
        // again with another when the listen fails
        let mut failures = Vec::new();
        for attempt in 0..3 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("find a free port")
                .port();
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let log = dir.path().join(format!("prometheus-{attempt}.log"));
            let child = Command::new("prometheus")
                .arg(format!("--config.file={}", config.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.path().join("data").display()
                ))
                .arg(format!("--web.listen-address={addr}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).expect("log file"))
                .spawn()
                .expect("spawn prometheus");
            let mut prometheus = Prometheus {
                child,
                addr,
                dir,
                job: job.to_string(),
            };
            match prometheus.wait_ready() {
                Ok(()) => return prometheus,
                Err(why) => {
                    stop_child(&mut prometheus.child);
                    failures.push(format!("{why}; log:\n{}", read_lossy(&log)));
                    dir = take_dir(prometheus);
                }
            }
        }
        panic!("prometheus did not start: {}", failures.join("\n---\n"));
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + PROMETHEUS_READY_WITHIN;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("prometheus exited with {status}"));
            }
            if TcpStream::connect_timeout(&self.addr, IO_TIMEOUT).is_ok()
                && http_get(self.addr, "/-/ready").0 == 200
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "prometheus not ready after {PROMETHEUS_READY_WITHIN:?}"
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        let mut logs: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        logs.retain(|p| p.extension().is_some_and(|e| e == "log"));
        logs.sort();
        logs.last().map(|p| read_lossy(p)).unwrap_or_default()
    }

    /// GET an API path; the `data` of a successful answer.
    pub fn api(&self, path: &str) -> Value {
        let (status, body) = http_get(self.addr, path);
        let answer: Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("GET {path}: {status}, not JSON ({e}): {body}"));
        assert!(
            status == 200 && answer["status"] == "success",
            "GET {path}: {status} {body}"
        );
        answer["data"].clone()
    }

    /// Evaluates `promql` now: each series with its sample (instant
    /// vector), or its samples (range vector).
    pub fn query(&self, promql: &str) -> Vec<Series> {
        let data = self.api(&format!("/api/v1/query?query={}", url_encode(promql)));
        let sample = |pair: &Value| -> (f64, f64) {
            let at = pair[0].as_f64().expect("timestamp");
            let value = pair[1]
                .as_str()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("value in {pair}"));
            (at, value)
        };
        let result = data["result"].as_array().cloned().unwrap_or_default();
        result
            .iter()
            .map(|r| {
                let labels = r["metric"]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                            .collect()
                    })
                    .unwrap_or_default();
                let samples = match (r.get("value"), r.get("values")) {
                    (Some(v), _) => vec![sample(v)],
                    (None, Some(Value::Array(vs))) => vs.iter().map(sample).collect(),
                    _ => panic!("{promql}: neither value nor values in {r}"),
                };
                Series { labels, samples }
            })
            .collect()
    }

    /// The value of a query that answers at most one sample (None when it
    /// answers none).
    pub fn value(&self, promql: &str) -> Option<f64> {
        let series = self.query(promql);
        assert!(
            series.len() <= 1,
            "{promql}: more than one series: {series:?}"
        );
        series.first().map(Series::value)
    }

    /// Prometheus's own metrics: its counts of what scrapes could not ingest.
    pub fn own_metrics(&self) -> Vec<Sample> {
        let (status, body) = http_get(self.addr, "/metrics");
        assert_eq!(status, 200, "Prometheus's /metrics: {body}");
        parse_exposition(&body)
    }

    /// The one target's state: (health, last error), as /api/v1/targets says.
    pub fn target(&self) -> (String, String) {
        let data = self.api("/api/v1/targets?state=active");
        let targets = data["activeTargets"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(targets.len(), 1, "one target expected: {data}");
        let t = &targets[0];
        (
            t["health"].as_str().unwrap_or("").to_string(),
            t["lastError"].as_str().unwrap_or("").to_string(),
        )
    }

    /// Waits until every series of `selector` (a series selector, such as
    /// `m{comm="x"}`) has two samples scraped at or after `since` (unix
    /// seconds), and returns them: a value that still changes after
    /// everything it counts has ended shows as two samples that differ.
    pub fn settled(&self, selector: &str, since: f64, timeout: Duration) -> Vec<Series> {
        let range = format!("{selector}[30s]");
        wait_for(
            &format!("two scrapes of {selector} after {since:.3}"),
            timeout,
            || {
                let mut series = self.query(&range);
                for s in &mut series {
                    s.samples.retain(|&(at, _)| at >= since);
                }
                (!series.is_empty() && series.iter().all(|s| s.samples.len() >= 2))
                    .then_some(series)
            },
            || format!("now {:?}; target {:?}", self.query(&range), self.target()),
        )
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        stop_child(&mut self.child);
    }
}

/// The temporary directory of a Prometheus that failed to start, for the
/// next attempt (its child already stopped).
fn take_dir(mut p: Prometheus) -> tempfile::TempDir {
    stop_child(&mut p.child);
    let placeholder = tempfile::tempdir().expect("tempdir");
    std::mem::replace(&mut p.dir, placeholder)
}

fn read_lossy(path: &std::path::Path) -> String {
    String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned()
}
