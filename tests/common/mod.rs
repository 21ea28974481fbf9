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
