//! The exporter against bad clients (real binary, real BPF): 200 clients
//! at once, slowloris heads, a 1 MiB request line and other paths, while a
//! storm of the test's own processes runs. The storm must be counted
//! exactly, nothing may be lost, and the exporter's threads stay few.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::metrics::{http_get, parse_exposition, sum, Exporter};

/// Sends raw bytes and reads the answer until the server closes, or
/// `wait` passes. Returns the status code, if one came.
fn raw_request(addr: SocketAddr, bytes: &[u8], wait: Duration) -> Option<u16> {
    let mut s = TcpStream::connect(addr).expect("connect to the exporter");
    s.set_read_timeout(Some(wait)).unwrap();
    // the server may answer and close before it has read everything
    let _ = s.write_all(bytes);
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

fn threads_of(pid: u32) -> usize {
    common::proc_status(pid, "Threads")
        .parse()
        .expect("a thread count")
}

#[test]
fn bad_clients_neither_stop_scrapes_nor_cost_events() {
    let Some(_guard) = common::bpf_test("bad_clients_neither_stop_scrapes_nor_cost_events") else {
        return;
    };
    let exporter = Exporter::start(&["--metrics", "127.0.0.1:0", "--quiet"]);
    let addr = exporter.addr();
    let baseline_threads = threads_of(exporter.pid());

    // the storm: a copy of `true` under a name of the test's own, run
    // while the abuse goes on
    let dir = tempfile::tempdir().expect("a temp dir");
    let name = format!("stm{}", std::process::id() % 100_000);
    let probe = dir.path().join(&name);
    std::fs::copy("/bin/true", &probe).expect("copy true");
    const STORM: u64 = 3_000;
    let abusing = Arc::new(AtomicBool::new(true));
    let storm = {
        let probe = probe.clone();
        thread::spawn(move || {
            for _ in 0..STORM {
                let status = std::process::Command::new(&probe)
                    .status()
                    .expect("run the probe");
                assert!(status.success());
            }
        })
    };

    // slowloris: 100 heads sent a byte at a time, never finished
    let slow: Vec<_> = (0..100)
        .map(|_| {
            let abusing = Arc::clone(&abusing);
            thread::spawn(move || {
                let mut s = TcpStream::connect(addr).expect("connect");
                let started = Instant::now();
                for b in b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: "
                    .iter()
                    .cycle()
                {
                    if s.write_all(&[*b]).is_err() || !abusing.load(Ordering::Relaxed) {
                        break;
                    }
                    thread::sleep(Duration::from_millis(200));
                }
                started.elapsed()
            })
        })
        .collect();

    // 200 clients at once, each scraping
    let scrapes: Vec<_> = (0..200)
        .map(|_| thread::spawn(move || http_get(addr, "/metrics").0))
        .collect();
    let mut peak_threads = 0;
    for s in scrapes {
        peak_threads = peak_threads.max(threads_of(exporter.pid()));
        assert_eq!(s.join().expect("a scraping thread"), 200);
    }

    // a request line of 1 MiB: refused, not read into memory
    let mut huge = b"GET /".to_vec();
    huge.resize(1 << 20, b'a');
    huge.extend_from_slice(b" HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(raw_request(addr, &huge, Duration::from_secs(10)), Some(431));
    // other paths and methods
    for path in ["/", "/metrics/", "/favicon.ico", "/metrics/../x"] {
        assert_eq!(http_get(addr, path).0, 404, "{path}");
    }
    let post = b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(raw_request(addr, post, Duration::from_secs(5)), Some(405));
    // garbage is a 400, not a hang
    assert_eq!(
        raw_request(addr, b"\x16\x03\x01 hello\r\n\r\n", Duration::from_secs(5)),
        Some(400)
    );

    // while the slow heads still hold their connections, a scrape is prompt
    let started = Instant::now();
    assert_eq!(http_get(addr, "/metrics").0, 200);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "a scrape beside 100 slow clients took {:?}",
        started.elapsed()
    );
    // the slow heads are dropped at the head timeout, not held for ever
    for s in slow {
        let held = s.join().expect("a slow client");
        assert!(
            held < tracer_tui::metrics::HEAD_TIMEOUT + Duration::from_secs(3),
            "a slow head was held {held:?}"
        );
    }
    abusing.store(false, Ordering::Relaxed);
    storm.join().expect("the storm");

    // no thread per client: the runtime serves them all on one
    assert!(
        peak_threads <= baseline_threads + 1,
        "threads went from {baseline_threads} to {peak_threads}"
    );

    // every run of the storm counted, nothing lost: the kernel's totals
    // are read once a second, so wait for them to settle
    let exits = "tracer_tui_process_exits_total";
    let mine = [("comm", name.as_str()), ("outcome", "success")];
    let deadline = Instant::now() + Duration::from_secs(10);
    let samples = loop {
        let (status, body) = http_get(addr, "/metrics");
        assert_eq!(status, 200);
        let samples = parse_exposition(&body);
        if sum(&samples, exits, &mine) == STORM as f64 || Instant::now() > deadline {
            break samples;
        }
        thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(sum(&samples, exits, &mine), STORM as f64);
    // every kind is exposed; none of those a slow consumer causes grew
    // (the pid map and the per-command map fill only on a host running
    // tens of thousands of processes or names at once: not asserted)
    let lost = "tracer_tui_events_lost_total";
    for (kind, _) in tracer_tui::metrics::lost_kinds(&Default::default(), 0) {
        let present = samples
            .iter()
            .any(|s| s.name == lost && s.label("kind") == kind);
        assert!(present, "no {lost} of kind {kind}");
    }
    for kind in [
        "exec_ringbuf",
        "exit_ringbuf",
        "fork_ringbuf",
        "undecodable",
    ] {
        let n = sum(&samples, lost, &[("kind", kind)]);
        assert_eq!(n, 0.0, "{kind} lost during the abuse");
    }
    let execs = sum(&samples, "tracer_tui_execs_total", &[]);
    assert!(execs >= STORM as f64, "{execs} execs counted");
}

/// While the output's reader stalls (a `--json` pipe nobody reads), the
/// metrics go on: the kernel's totals are still read every second.
#[test]
fn metrics_go_on_while_the_output_stalls() {
    let Some(_guard) = common::bpf_test("metrics_go_on_while_the_output_stalls") else {
        return;
    };
    let exporter = Exporter::start_with(
        &["--metrics", "127.0.0.1:0", "--json"],
        std::process::Stdio::piped(),
    );
    let addr = exporter.addr();
    let dir = tempfile::tempdir().expect("a temp dir");
    let name = format!("stl{}", std::process::id() % 100_000);
    let probe = dir.path().join(&name);
    std::fs::copy("/bin/true", &probe).expect("copy true");
    // more events than the output's queue and the backlog hold (2 a run,
    // 16,384 waiting at most): the backend is soon behind, and the kernel
    // drops what does not fit in its ring
    const RUNS: u64 = 12_000;
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "i=0; while [ $i -lt {RUNS} ]; do \"$1\"; i=$((i+1)); done"
        ))
        .arg("sh")
        .arg(&probe)
        .status()
        .expect("run the loop");
    assert!(status.success());
    let mine = [("comm", name.as_str()), ("outcome", "success")];
    let exits = "tracer_tui_process_exits_total";
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let samples = parse_exposition(&http_get(addr, "/metrics").1);
        let counted = sum(&samples, exits, &mine);
        if counted == RUNS as f64 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{counted} of {RUNS} runs counted while the output was stalled"
        );
        thread::sleep(Duration::from_millis(300));
    }
}

/// More idle connections than the server takes at once: the rest wait to
/// be accepted, a scrape among them is answered once the idle ones time
/// out, and the exporter's threads and memory stay as they were.
#[test]
fn more_clients_than_the_cap_wait_and_are_then_served() {
    let Some(_guard) = common::bpf_test("more_clients_than_the_cap_wait_and_are_then_served")
    else {
        return;
    };
    let exporter = Exporter::start(&["--metrics", "127.0.0.1:0", "--quiet"]);
    let addr = exporter.addr();
    let threads = threads_of(exporter.pid());
    // the heap: the ring buffer's pages, touched as events come, are not
    // private anonymous memory
    let heap = |pid: u32| -> u64 {
        let kib = common::proc_status(pid, "RssAnon");
        kib.trim_end_matches(" kB")
            .trim()
            .parse()
            .expect("RssAnon in kB")
    };
    let heap_before = heap(exporter.pid());
    // connections that never send a byte, past the cap; the first ones'
    // head timeouts run from about now
    let opened = Instant::now();
    let idle: Vec<TcpStream> = (0..tracer_tui::metrics::MAX_CLIENTS + 100)
        .map(|_| TcpStream::connect(addr).expect("connect"))
        .collect();
    let started = Instant::now();
    let (status, body) = http_get(addr, "/metrics");
    let waited = started.elapsed();
    assert_eq!(status, 200);
    assert!(body.contains("tracer_tui_execs_total"));
    // it waited for a slot (the cap held: no slot frees before the first
    // idle heads time out), and was served once they had, not never
    let since_opened = opened.elapsed();
    assert!(
        since_opened >= tracer_tui::metrics::HEAD_TIMEOUT - Duration::from_millis(500),
        "served {since_opened:?} after {} idle clients connected: no cap",
        idle.len()
    );
    assert!(
        waited < tracer_tui::metrics::HEAD_TIMEOUT * 2 + Duration::from_secs(3),
        "a scrape behind {} idle clients waited {waited:?}",
        idle.len()
    );
    assert!(threads_of(exporter.pid()) <= threads + 1);
    // a few KiB a connection at most, not a thread or a body each
    let grown = heap(exporter.pid()).saturating_sub(heap_before);
    eprintln!("heap grew {grown} KiB for {} clients", idle.len());
    assert!(
        grown < 32 * 1024,
        "heap grew {grown} KiB for {} clients",
        idle.len()
    );
    drop(idle);
}
