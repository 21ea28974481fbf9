//! Real BPF, real processes: the resource use reported at exit matches what
//! wait4(2) tells the parent of the same child. Needs root.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::tracing::Tracing;
use tracer_tui::event::Usage;

/// Runs oddproc with `args`, reaps it with wait4 and returns its pid and
/// the kernel's rusage for it.
/// A child's arguments and what its usage must show on its own.
type Case<'a> = (&'a [&'a str], fn(&Usage));

fn run_and_wait4(args: &[&str]) -> (u32, libc::rusage) {
    // reaped with wait4 below, for its rusage, not with Child::wait
    #[allow(clippy::zombie_processes)]
    let child = Command::new(common::oddproc())
        .args(args)
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call; the child is ours.
    let r = unsafe { libc::wait4(pid as i32, &mut status, 0, &mut ru) };
    assert_eq!(r, pid as i32, "wait4");
    assert_eq!(status, 0, "oddproc {args:?} failed");
    (pid, ru)
}

fn ns(t: libc::timeval) -> i64 {
    t.tv_sec * 1_000_000_000 + t.tv_usec * 1000
}

/// Compares the exit record with wait4's figures. CPU may fall short of
/// wait4's by the teardown that runs after the tracepoint (about 0.1 ms
/// per MiB of RSS on a quiet host; twice that is allowed, for a slow or
/// busy one), plus 1 ms.
fn check(args: &[&str], u: &Usage, ru: &libc::rusage) {
    let rss_mib = ru.ru_maxrss / 1024;
    let slack = 1_000_000 + rss_mib * 200_000;
    let (user, system) = (u.cpu_user_ns as i64, u.cpu_system_ns as i64);
    let (w_user, w_system) = (ns(ru.ru_utime), ns(ru.ru_stime));
    let why = format!("{args:?}: ours {u:?}, wait4 user {w_user} system {w_system}, rusage maxrss {} minflt {} majflt {} nvcsw {} nivcsw {} oublock {}",
        ru.ru_maxrss, ru.ru_minflt, ru.ru_majflt, ru.ru_nvcsw, ru.ru_nivcsw, ru.ru_oublock);
    let total = user + system;
    let w_total = w_user + w_system;
    assert!(
        total <= w_total + 1_000 && w_total - total <= slack,
        "total CPU: {why}"
    );
    // the split is the same proportion, of slightly different totals and
    // tick samples (a 4 ms tick can land in the teardown)
    assert!(
        (user - w_user).abs() <= slack + 4_000_000,
        "user CPU: {why}"
    );
    assert!(
        (system - w_system).abs() <= slack + 4_000_000,
        "system CPU: {why}"
    );
    let rss = u.max_rss_kib as i64;
    assert!(
        (rss - ru.ru_maxrss).abs() * 100 <= ru.ru_maxrss,
        "RSS within 1 %: {why}"
    );
    assert!(
        (u.minor_faults as i64 - ru.ru_minflt).abs() <= 4,
        "minor faults: {why}"
    );
    assert_eq!(u.major_faults as i64, ru.ru_majflt, "major faults: {why}");
    // the final schedule happens after the tracepoint, and so does the
    // teardown: on a busy host it can be preempted, about once per half
    // millisecond of it at most
    let switches = 3 + (w_total - total).max(0) / 500_000;
    assert!(
        (u.voluntary_switches as i64 - ru.ru_nvcsw).abs() <= switches,
        "voluntary switches: {why}"
    );
    assert!(
        (u.involuntary_switches as i64 - ru.ru_nivcsw).abs() <= switches,
        "involuntary switches: {why}"
    );
    let written = u.write_bytes.expect("this kernel accounts I/O") as i64;
    assert!(
        (written / 512 - ru.ru_oublock).abs() <= 8,
        "written bytes: {why}"
    );
}

#[test]
fn usage_at_exit_matches_wait4() {
    let Some(_serial) = common::bpf_test("usage_at_exit_matches_wait4") else {
        return;
    };
    let mut t = Tracing::start(Duration::ZERO);
    let dir = env!("CARGO_TARGET_TMPDIR");
    let file = format!("{dir}/usage-write-{}", std::process::id());
    let cases: [Case; 4] = [
        (&["burn", "200", "100"], |u| {
            // the split follows 4 ms tick samples, so only roughly 2:1
            assert!((290_000_000..400_000_000).contains(&u.cpu_ns()), "{u:?}");
            assert!(u.cpu_user_ns > 100_000_000, "{u:?}");
            assert!(u.cpu_system_ns > 50_000_000, "{u:?}");
        }),
        // four threads that end before the main thread: summed in the
        // signal struct, not lost with them
        (&["thread-burn", "4", "60"], |u| {
            assert!(u.cpu_ns() >= 240_000_000, "{u:?}");
        }),
        (&["touch", "200"], |u| {
            assert!(u.max_rss_kib >= 200 * 1024, "{u:?}");
            assert!(u.minor_faults >= 200 * 256 / 2, "{u:?}");
        }),
        (&["write", "20", &file], |u| {
            assert!(u.write_bytes.unwrap() >= 20 << 20, "{u:?}");
        }),
    ];
    for (args, expect) in cases {
        let (pid, ru) = run_and_wait4(args);
        let e = t.exit_of(pid);
        let u = e.usage.expect("the kernel reports usage");
        expect(&u);
        check(args, &u, &ru);
    }
    let _ = std::fs::remove_file(&file);
}
