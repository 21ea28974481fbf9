//! Flow control and signals: a stalled reader of `--json` keeps memory
//! bounded and is told what was lost; signals end a blocked write; job
//! control suspends and resumes the dashboard; a dashboard without a
//! terminal refuses.

mod common;

use std::collections::HashMap;
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::Tmux;
use serde_json::Value;

/// `tracer-tui --json` writing into a pipe that this test reads only when
/// it wants to, as `tracer-tui --json | (sleep 20; cat)` would.
struct PipedTracer {
    child: Child,
    reading: Arc<AtomicBool>,
    text: Arc<Mutex<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
    stderr: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl PipedTracer {
    fn start(args: &[&str]) -> PipedTracer {
        let dir = tempfile::tempdir().expect("tempdir");
        let stderr = dir.path().join("stderr");
        let mut child = Command::new(common::bin())
            .arg("--json")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("spawn tracer-tui");
        let mut pipe = child.stdout.take().expect("stdout pipe");
        let reading = Arc::new(AtomicBool::new(true));
        let text = Arc::new(Mutex::new(Vec::new()));
        let reader = {
            let (reading, text) = (Arc::clone(&reading), Arc::clone(&text));
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 1 << 16];
                loop {
                    if !reading.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(10));
                        continue;
                    }
                    match pipe.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => text.lock().unwrap().extend_from_slice(&buf[..n]),
                    }
                }
            })
        };
        let t = PipedTracer {
            child,
            reading,
            text,
            reader: Some(reader),
            stderr,
            _dir: dir,
        };
        let marker = format!("flow-ready-{}", std::process::id());
        let deadline = Instant::now() + Duration::from_secs(10);
        while !t.text().contains(&marker) {
            assert!(Instant::now() < deadline, "tracer-tui never reported");
            let _ = Command::new("/bin/echo")
                .arg(&marker)
                .stdout(Stdio::null())
                .status();
            std::thread::sleep(Duration::from_millis(50));
        }
        t
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.text.lock().unwrap()).into_owned()
    }

    fn lines(&self) -> Vec<Value> {
        let text = self.text();
        // the last line may be cut where the pipe was read
        text.lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    fn rss_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// True when one of its threads sleeps in a pipe write.
    fn blocked_in_write(&self) -> bool {
        let tasks = format!("/proc/{}/task", self.pid());
        std::fs::read_dir(tasks)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .any(|t| {
                std::fs::read_to_string(t.path().join("wchan"))
                    .is_ok_and(|w| w.contains("pipe_write"))
            })
    }

    fn signal(&self, sig: i32) {
        // SAFETY: kill with the pid of a child we spawned.
        unsafe { libc::kill(self.pid(), sig) };
    }

    /// Waits at most `limit` for it to exit.
    fn wait_exit(&mut self, limit: Duration) -> Option<(std::process::ExitStatus, Duration)> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some((status, started.elapsed()));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        None
    }
}

impl Drop for PipedTracer {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        self.reading.store(true, Ordering::Relaxed);
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

/// Runs a storm while sampling the tracer's RSS; returns (pids, peak KiB).
fn storm_with_rss(tracer: &PipedTracer, n: usize) -> (Vec<u32>, u64) {
    let done = Arc::new(AtomicBool::new(false));
    let pid = tracer.pid();
    let sampler = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let mut peak = 0;
            while !done.load(Ordering::Relaxed) {
                let status =
                    std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
                let rss = status
                    .lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                    .unwrap_or(0);
                peak = peak.max(rss);
                std::thread::sleep(Duration::from_millis(50));
            }
            peak
        })
    };
    let pids = common::run_storm(n, 2, 0);
    done.store(true, Ordering::Relaxed);
    (pids, sampler.join().expect("sampler"))
}

/// (execs, exits) of this storm's children seen, counting each run: a pid
/// may be reused, and other processes may reuse the storm's pids (they
/// have another name or parent).
fn storm_seen(events: &[Value], pids: &[u32]) -> (u64, u64) {
    let set: std::collections::HashSet<u32> = pids.iter().copied().collect();
    let ours = |e: &&Value| {
        e["comm"] == "storm-child" && set.contains(&(e["pid"].as_u64().unwrap_or(0) as u32))
    };
    // the storm's process is the parent of most of them
    let mut parents: HashMap<u64, u64> = HashMap::new();
    for e in events.iter().filter(ours).filter(|e| e["event"] == "exec") {
        *parents.entry(e["ppid"].as_u64().unwrap_or(0)).or_default() += 1;
    }
    let parent = parents.into_iter().max_by_key(|&(_, n)| n).map(|(p, _)| p);
    let count = |kind: &str| {
        events
            .iter()
            .filter(ours)
            .filter(|e| e["event"] == kind && e["ppid"].as_u64() == parent)
            .count() as u64
    };
    (count("exec"), count("exit"))
}

/// What tracer-tui may hold while its reader stalls, whatever the storm:
/// the backlog of events, the output queue and the 1 MiB ring.
const RSS_BOUND_KIB: u64 = 100 * 1024;

#[test]
fn stalled_json_reader_keeps_memory_bounded_and_is_told_what_was_lost() {
    let Some(_serial) = common::bpf_test("stalled_json_reader") else {
        return;
    };
    let tracer = PipedTracer::start(&["--ring-buffer", "1"]);
    let before = tracer.rss_kib();
    tracer.reading.store(false, Ordering::Relaxed);
    let stall = Instant::now();
    let (pids, peak) = storm_with_rss(&tracer, 20_000);
    let blocked = tracer.blocked_in_write();
    eprintln!(
        "stalled reader, {} processes in {:.1} s: RSS {before} KiB before, peak {peak} KiB; \
         blocked in a pipe write: {blocked}",
        pids.len(),
        stall.elapsed().as_secs_f64()
    );
    assert!(blocked, "the stall did not block tracer-tui's writes");
    assert!(
        peak < RSS_BOUND_KIB,
        "RSS reached {peak} KiB with the reader stalled (bound {RSS_BOUND_KIB} KiB)"
    );

    // the reader resumes: the rest comes, then a lost record that counts
    // every storm event that is missing
    tracer.reading.store(true, Ordering::Relaxed);
    let runs = pids.len() as u64;
    let deadline = Instant::now() + Duration::from_secs(10);
    let (missing, lost) = loop {
        let events = tracer.lines();
        let (execs, exits) = storm_seen(&events, &pids);
        let missing = (runs.saturating_sub(execs), runs.saturating_sub(exits));
        let lost = events.iter().rev().find(|e| e["event"] == "lost").cloned();
        let covered = lost.as_ref().is_some_and(|l| {
            l["exec_ringbuf"].as_u64().unwrap_or(0) >= missing.0
                && l["exit_ringbuf"].as_u64().unwrap_or(0) >= missing.1
        });
        if covered || Instant::now() > deadline {
            break (missing, lost.unwrap_or_default());
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    eprintln!("missing storm execs and exits {missing:?}; last lost record {lost}");
    assert!(
        missing.0 + missing.1 > 0,
        "the stall lost nothing: tracer-tui kept everything in memory"
    );
    assert!(
        lost["exec_ringbuf"].as_u64().unwrap_or(0) >= missing.0,
        "{} storm execs missing, not all counted: {lost}",
        missing.0
    );
    assert!(
        lost["exit_ringbuf"].as_u64().unwrap_or(0) >= missing.1,
        "{} storm exits missing, not all counted: {lost}",
        missing.1
    );
}

/// Stalls the reader until a write blocks, then sends `sig`.
fn signal_ends_a_blocked_write(sig: i32, name: &str) {
    let Some(_serial) = common::bpf_test(name) else {
        return;
    };
    let mut tracer = PipedTracer::start(&[]);
    tracer.reading.store(false, Ordering::Relaxed);
    // more output than the pipe and the output queue hold
    let deadline = Instant::now() + Duration::from_secs(20);
    while !tracer.blocked_in_write() {
        assert!(Instant::now() < deadline, "the writes never blocked");
        common::run_storm(2_000, 2, 0);
    }
    tracer.signal(sig);
    let (status, took) = tracer
        .wait_exit(Duration::from_secs(3))
        .unwrap_or_else(|| panic!("still running 3 s after signal {sig}, its write blocked"));
    let stderr = std::fs::read_to_string(&tracer.stderr).unwrap_or_default();
    eprintln!("signal {sig} with a blocked write: exited {status} after {took:?}; {stderr}");
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert!(status.success(), "{status}: {stderr}");
    assert!(
        stderr.contains("bytes of output the reader did not take"),
        "nothing said about what was not written: {stderr:?}"
    );
}

#[test]
fn sigterm_ends_a_blocked_write_within_a_second() {
    signal_ends_a_blocked_write(libc::SIGTERM, "sigterm_ends_a_blocked_write");
}

#[test]
fn sigint_ends_a_blocked_write_within_a_second() {
    signal_ends_a_blocked_write(libc::SIGINT, "sigint_ends_a_blocked_write");
}

const WAIT: Duration = Duration::from_secs(15);

/// The pane's mouse reporting modes (any, button, standard, SGR), as tmux
/// tracks them: "0000" when none is on.
fn mouse_modes(tmux: &Tmux) -> String {
    tmux.run(&[
        "display",
        "-p",
        "#{mouse_any_flag}#{mouse_button_flag}#{mouse_standard_flag}#{mouse_sgr_flag}",
    ])
    .trim()
    .to_string()
}

/// The process the pane's shell is running in the foreground.
fn pane_child(tmux: &Tmux) -> i32 {
    let shell = tmux.run(&["display", "-p", "#{pane_pid}"]);
    let shell = shell.trim();
    let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children"))
        .expect("the shell's children");
    children
        .split_whitespace()
        .next()
        .and_then(|p| p.parse().ok())
        .expect("the shell runs tracer-tui")
}

/// Suspends the dashboard with `suspend`, checks the shell has a plain
/// terminal, brings the dashboard back with `fg`, checks it is drawn again.
fn suspend_and_resume(name: &str, suspend: impl Fn(&Tmux)) {
    let Some(_serial) = common::bpf_test(name) else {
        return;
    };
    let tmux = Tmux::start(name, 120, 40, common::bin());
    tmux.wait_for("Finished", WAIT);
    assert!(tmux.alternate_screen());
    assert_ne!(mouse_modes(&tmux), "0000", "mouse reporting was never on");

    suspend(&tmux);
    tmux.wait_for("Stopped", WAIT);
    assert!(!tmux.alternate_screen(), "stopped in the alternate screen");
    assert_eq!(
        mouse_modes(&tmux),
        "0000",
        "stopped with mouse reporting on"
    );
    // the shell works: it echoes what is typed, and the terminal is cooked
    let marker = format!("typed{}", std::process::id());
    tmux.type_line(&format!(
        "case \"$(stty -a)\" in *-icanon*) echo RAW;; *) echo {marker}-$((6*7));; esac"
    ));
    tmux.wait_for(&format!("{marker}-42"), WAIT);
    assert!(
        !tmux.screen().lines().any(|l| l.trim() == "RAW"),
        "the terminal is still in raw mode"
    );

    tmux.type_line("fg");
    let screen = tmux.wait_until("the dashboard drawn again", WAIT, |s| {
        s.contains("Finished") && s.contains("Live") && !s.contains(&marker)
    });
    assert!(tmux.alternate_screen(), "{screen}");
    assert_ne!(mouse_modes(&tmux), "0000", "mouse reporting not back");
    // and it still answers keys
    tmux.keys(&["q"]);
    tmux.wait_until("the shell after q", WAIT, |_| !tmux.alternate_screen());
}

#[test]
fn sigtstp_then_sigcont_gives_the_shell_a_terminal_then_redraws() {
    suspend_and_resume("sigtstp", |tmux| {
        // SAFETY: kill with the pid of the process the test's pane runs.
        unsafe { libc::kill(pane_child(tmux), libc::SIGTSTP) };
    });
}

#[test]
fn ctrl_z_suspends_the_dashboard() {
    suspend_and_resume("ctrlz", |tmux| tmux.keys(&["C-z"]));
}

#[test]
fn dashboard_with_stdout_redirected_refuses_with_one_line() {
    // the kernel program is loaded before the terminal is looked at
    let Some(_serial) = common::bpf_test("redirected") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    // a terminal for stdin and stderr, a file for stdout: as `tracer-tui > out`
    let tmux = Tmux::start(
        "redirected",
        160,
        20,
        &format!("{} > {}; echo TRACER-EXIT=$?", common::bin(), out.display()),
    );
    let screen = tmux.wait_until("the exit status", WAIT, |s| {
        s.lines().any(|l| l.starts_with("TRACER-EXIT="))
    });
    assert!(!tmux.alternate_screen());
    let said: Vec<&str> = screen
        .lines()
        .filter(|l| l.starts_with("tracer-tui:"))
        .collect();
    assert_eq!(said.len(), 1, "{screen}");
    assert!(said[0].contains("needs a terminal"), "{screen}");
    assert!(screen.contains("TRACER-EXIT=1"), "{screen}");
    let written = std::fs::read(&out).expect("the redirected stdout");
    assert!(written.is_empty(), "wrote {written:?} into the file");
}

fn rss_kib(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// A terminal that stops reading (Ctrl-S, a stopped terminal emulator): the
/// dashboard's writes block, and the same bounded queue keeps its memory
/// flat while the kernel drops and counts; once the terminal reads again
/// the dashboard goes on, shows the drops, and quits.
#[test]
fn a_terminal_that_stops_reading_keeps_the_dashboard_bounded() {
    let Some(_serial) = common::bpf_test("a_terminal_that_stops_reading") else {
        return;
    };
    let cmd = format!("{} --ring-buffer 1; echo TRACER-EXIT=$?", common::bin());
    let tmux = Tmux::start("xoff", 120, 40, &cmd);
    tmux.wait_for("Finished", WAIT);
    let dashboard = pane_child(&tmux);
    let server: i32 = tmux
        .run(&["display", "-p", "#{pid}"])
        .trim()
        .parse()
        .expect("the tmux server's pid");
    let before = rss_kib(dashboard);
    // the terminal stops reading: the pty fills and the dashboard's writes block
    // SAFETY: signals to the tmux server this test started.
    unsafe { libc::kill(server, libc::SIGSTOP) };
    // frames go on being written until the pty's buffers are full
    let blocked_in_write = || {
        std::fs::read_to_string(format!("/proc/{dashboard}/wchan"))
            .is_ok_and(|w| w.contains("wait_woken") || w.contains("tty"))
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !blocked_in_write() && Instant::now() < deadline {
        // new processes make frames to write
        let _ = Command::new("/bin/true").status();
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(blocked_in_write(), "the dashboard's writes never blocked");
    let peak = Arc::new(Mutex::new(before));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (Arc::clone(&peak), Arc::clone(&sampling));
        std::thread::spawn(move || {
            while sampling.load(Ordering::Relaxed) {
                let now = rss_kib(dashboard);
                let mut p = peak.lock().expect("peak");
                *p = (*p).max(now);
                drop(p);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    // more events than the backlog and the 1 MiB ring hold together
    let pids = common::run_storm(40_000, 2, 0);
    sampling.store(false, Ordering::Relaxed);
    sampler.join().expect("sampler");
    let peak = *peak.lock().expect("peak");
    let wchan = std::fs::read_to_string(format!("/proc/{dashboard}/wchan")).unwrap_or_default();
    // SAFETY: as above.
    unsafe { libc::kill(server, libc::SIGCONT) };
    eprintln!(
        "terminal stopped during {} processes: RSS {before} KiB before, peak {peak} KiB; \
         main thread waiting in {wchan:?}",
        pids.len()
    );
    assert!(
        peak < RSS_BOUND_KIB,
        "RSS reached {peak} KiB with the terminal stopped (bound {RSS_BOUND_KIB} KiB)"
    );
    // reading again: the dashboard goes on and shows what the kernel dropped
    let screen = tmux.wait_until("the drops in the header", WAIT, |s| {
        s.lines().any(|l| {
            l.split("drops ")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse::<u64>().ok())
                .is_some_and(|n| n > 0)
        })
    });
    assert!(screen.contains("Finished"), "{screen}");
    tmux.keys(&["q"]);
    tmux.wait_for("TRACER-EXIT=0", WAIT);
}
