//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod metrics;
pub mod prometheus;
pub mod tracing;

use std::sync::{Mutex, MutexGuard};

/// True when the BPF tests can run. Without root they skip with a reason,
/// except under CI=true or TRACER_REQUIRE_BPF=1, where that is a failure.
pub fn require_bpf(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    let required = std::env::var("CI").is_ok_and(|v| v == "true")
        || std::env::var("TRACER_REQUIRE_BPF").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "{test}: needs root to load BPF, and CI=true or TRACER_REQUIRE_BPF=1 forbids skipping"
    );
    eprintln!("skipping {test}: needs root to load BPF (run the tests as root)");
    false
}

static SERIAL: Mutex<()> = Mutex::new(());

/// The start of every test that loads BPF: None means skip (not root, and
/// skipping is allowed); Some holds the lock that runs them one at a time.
pub fn bpf_test(test: &str) -> Option<MutexGuard<'static, ()>> {
    require_bpf(test).then(serial)
}

/// Runs BPF tests one at a time, so load and drop counts are each test's own.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The dashboard recording with `-d 300ms` in a tmux pane named `name`:
/// `during` runs once it shows (its result is returned), then, after 3 s
/// (a process whose exit the filter hid is given up on two snapshots
/// later, and recorded as gone), it quits. Returns the recording's text.
pub fn record_filtered<T>(name: &str, during: impl FnOnce() -> T) -> (String, T) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("rec.ndjson");
    let cmd = format!(
        "{} -d 300ms --record {}; echo TRACER-EXIT=$?",
        bin(),
        file.display()
    );
    let tmux = Tmux::start(name, 120, 40, &cmd);
    tmux.wait_for("Finished", std::time::Duration::from_secs(15));
    let result = during();
    std::thread::sleep(std::time::Duration::from_secs(3));
    tmux.keys(&["q"]);
    tmux.wait_for("TRACER-EXIT=0", std::time::Duration::from_secs(15));
    let text = std::fs::read_to_string(&file).expect("the recording");
    (text, result)
}

/// Waits for `child` to end by itself before `deadline`; kills it and
/// panics, naming `what`, if it does not.
pub fn wait_until_ended(
    child: &mut std::process::Child,
    deadline: std::time::Instant,
    what: &str,
) -> std::process::ExitStatus {
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not end by itself in time");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The field `key` of /proc/PID/status, trimmed.
pub fn proc_status(pid: u32, key: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status"))
        .trim()
        .to_string()
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_tracer-tui")
}

/// Builds tests/fixtures/oddproc.c once per test binary and returns its path.
pub fn oddproc() -> &'static str {
    static PATH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let out = format!("{}/oddproc", env!("CARGO_TARGET_TMPDIR"));
        let src = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/oddproc.c");
        let status = std::process::Command::new("cc")
            .args(["-O1", "-Wall", "-pthread", "-o", &out, src])
            .status()
            .expect("run cc");
        assert!(status.success(), "building oddproc failed");
        out
    })
}

/// A tmux server of its own, running one command in a fixed-size pane.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    pub fn start(name: &str, width: u16, height: u16, command: &str) -> Tmux {
        let socket = format!("tracer-test-{name}-{}", std::process::id());
        let tmux = Tmux { socket };
        let size = (width.to_string(), height.to_string());
        tmux.run(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-x",
            &size.0,
            "-y",
            &size.1,
            "bash",
            "--norc",
            "--noprofile",
        ]);
        tmux.run(&["set", "-g", "window-size", "manual"]);
        tmux.run(&["set", "-g", "remain-on-exit", "on"]);
        tmux.type_line(command);
        tmux
    }

    pub fn run(&self, args: &[&str]) -> String {
        let out = std::process::Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Types a shell command into the pane.
    pub fn type_line(&self, line: &str) {
        self.run(&["send-keys", "-l", line]);
        self.run(&["send-keys", "Enter"]);
    }

    pub fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.run(&["send-keys", k]);
        }
    }

    pub fn text(&self, text: &str) {
        self.run(&["send-keys", "-l", text]);
    }

    pub fn screen(&self) -> String {
        self.run(&["capture-pane", "-p"])
    }

    pub fn alternate_screen(&self) -> bool {
        self.run(&["display", "-p", "#{alternate_on}"]).trim() == "1"
    }

    pub fn resize(&self, width: u16, height: u16) {
        self.run(&[
            "resize-window",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
        ]);
    }

    /// Waits until `check` accepts the screen; panics with the screen if not.
    pub fn wait_until(
        &self,
        what: &str,
        timeout: std::time::Duration,
        check: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let screen = self.screen();
            if check(&screen) {
                return screen;
            }
            if std::time::Instant::now() > deadline {
                panic!("timed out waiting for {what}; screen:\n{screen}");
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    pub fn wait_for(&self, text: &str, timeout: std::time::Duration) -> String {
        self.wait_until(text, timeout, |s| s.contains(text))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}

/// Builds the exec storm (benches/storm) once per test binary: (storm, child).
pub fn storm_binaries() -> &'static (String, String) {
    static PATHS: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    PATHS.get_or_init(|| {
        let dir = env!("CARGO_TARGET_TMPDIR");
        let src = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/storm");
        let (storm, child) = (format!("{dir}/exec-storm"), format!("{dir}/storm-child"));
        let ok = std::process::Command::new("cc")
            .args([
                "-O2",
                "-static",
                "-nostdlib",
                "-fno-stack-protector",
                "-o",
                &child,
            ])
            .arg(format!("{src}/child.c"))
            .status()
            .expect("run cc")
            .success()
            && std::process::Command::new("cc")
                .args(["-O2", "-Wall", "-pthread", "-o", &storm])
                .arg(format!("{src}/storm.c"))
                .status()
                .expect("run cc")
                .success();
        assert!(ok, "building the exec storm failed");
        (storm, child)
    })
}

/// Runs the exec storm; returns the pids it spawned.
pub fn run_storm(n: usize, workers: usize, lifetime_us: u64) -> Vec<u32> {
    let (storm, child) = storm_binaries();
    let dir = tempfile::tempdir().expect("tempdir");
    let pidfile = dir.path().join("pids");
    let out = std::process::Command::new(storm)
        .args([
            "-n",
            &n.to_string(),
            "-k",
            &workers.to_string(),
            "-l",
            &lifetime_us.to_string(),
            "-p",
        ])
        .arg(&pidfile)
        .arg(child)
        .output()
        .expect("run exec-storm");
    assert!(
        out.status.success(),
        "exec-storm: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "exec-storm: {}",
        String::from_utf8_lossy(&out.stdout).trim()
    );
    std::fs::read_to_string(&pidfile)
        .expect("pid file")
        .lines()
        .filter_map(|l| l.parse().ok())
        .collect()
}

/// `tracer-tui --json` (plus `args`) writing to a file, for tests that read
/// everything it printed.
pub struct JsonTracer {
    pub child: std::process::Child,
    pub path: std::path::PathBuf,
    pub stderr: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl JsonTracer {
    pub fn start(args: &[&str]) -> JsonTracer {
        Self::start_wrapped(&[], args)
    }

    /// Runs it under `wrapper` (a command that ends by running its
    /// arguments, such as setpriv or unshare).
    pub fn start_wrapped(wrapper: &[&str], args: &[&str]) -> JsonTracer {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("events.ndjson");
        let stderr = dir.path().join("stderr");
        let out = std::fs::File::create(&path).expect("output file");
        let err = std::fs::File::create(&stderr).expect("stderr file");
        let (program, before) = match wrapper.split_first() {
            Some((first, rest)) => (*first, [rest, &[bin()]].concat()),
            None => (bin(), Vec::new()),
        };
        let child = std::process::Command::new(program)
            .args(before)
            .arg("--json")
            .args(args)
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("spawn tracer-tui");
        let t = JsonTracer {
            child,
            path,
            stderr,
            _dir: dir,
        };
        // ready once a process started now is reported
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let marker = format!("ready-{}", std::process::id());
        while !t.text().contains(&marker) {
            assert!(
                std::time::Instant::now() < deadline,
                "tracer-tui never reported a process"
            );
            let _ = std::process::Command::new("/bin/echo")
                .arg(&marker)
                .stdout(std::process::Stdio::null())
                .status();
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        t
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.path).unwrap_or_default()).into_owned()
    }

    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.stderr).unwrap_or_default()).into_owned()
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: kill with a pid we spawned and a valid signal number.
        unsafe { libc::kill(self.child.id() as i32, sig) };
    }

    /// Stops it (SIGTERM) and returns every line it wrote, parsed.
    pub fn stop(mut self) -> Vec<serde_json::Value> {
        self.signal(libc::SIGTERM);
        let status = self.child.wait().expect("wait");
        assert!(
            status.success(),
            "tracer-tui exited with {status}: {}",
            self.stderr_text()
        );
        self.text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
            .collect()
    }
}

/// Waits for every child; returns their pids, in order.
pub fn reap(children: Vec<std::process::Child>) -> Vec<u32> {
    children
        .into_iter()
        .map(|mut c| {
            let pid = c.id();
            c.wait().expect("wait");
            pid
        })
        .collect()
}

/// A process for a hand-made recording: exec'd at `start` (ns since the
/// epoch) by init, its argv naming `marker` so a test can find it.
pub fn recorded(pid: u32, name: &str, start: u64, marker: &str) -> tracer_tui::event::ProcessInfo {
    use tracer_tui::event::{Origin, ProcessInfo, WallTime};
    ProcessInfo {
        pid,
        ppid: 1,
        uid: 0,
        comm: name.into(),
        filename: format!("/usr/bin/{name}"),
        argv: vec![name.into(), format!("{marker}-{name}")],
        start: WallTime(start),
        exec_time: WallTime(start),
        origin: Origin::Exec,
        ..Default::default()
    }
}

/// The exit of a recorded process after `dur_ms`, with a wait(2) status.
pub fn recorded_exit(
    p: tracer_tui::event::ProcessInfo,
    dur_ms: u64,
    status: u32,
) -> tracer_tui::event::TraceEvent {
    use tracer_tui::event::{ExitInfo, ExitStatus, TraceEvent, WallTime};
    let ns = dur_ms * 1_000_000;
    TraceEvent::Exit(ExitInfo {
        exit_comm: p.comm.clone(),
        end: WallTime(p.start.0 + ns),
        duration_ns: ns,
        status: ExitStatus(status),
        usage: None,
        process: p,
    })
}
