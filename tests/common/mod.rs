//! Helpers shared by the integration tests.
#![allow(dead_code)]

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

/// Runs BPF tests one at a time, so load and drop counts are each test's own.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
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
