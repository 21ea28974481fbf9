//! Real BPF, real processes: what a process ran, tried and was called. Exec
//! chains, failed execs (with and without a tracefs mount), the process's
//! name at exit, reparented orphans, and recordings made with a min
//! duration. Needs root.

mod common;

use std::collections::{HashMap, HashSet};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::tracing::{run, Tracing};
use common::JsonTracer;
use tracer_tui::app::{App, AppConfig, HostInfo};
use tracer_tui::event::TraceEvent;
use tracer_tui::record;
use tracer_tui::source::Message;

#[test]
fn the_name_at_exit_is_the_processs_not_its_last_threads() {
    let Some(_serial) = common::bpf_test("the_name_at_exit_is_the_processs_not_its_last_threads")
    else {
        return;
    };
    let mut t = Tracing::start(Duration::ZERO);
    // main calls pthread_exit; a thread named zzworker ends the process
    let pid = run(common::oddproc(), &["named-worker", "zzworker", "7"]);
    let e = t.exit_of(pid);
    assert_eq!(e.status.code(), Some(7));
    assert_eq!(e.process.comm, "oddproc");
    assert_eq!(e.exit_comm, "zzworker");
}

#[test]
fn a_process_that_execs_again_keeps_each_command_line() {
    let Some(_serial) = common::bpf_test("a_process_that_execs_again_keeps_each_command_line")
    else {
        return;
    };
    let mut t = Tracing::start(Duration::ZERO);
    // absolute paths: a search of $PATH would add failed attempts
    let pid = run("/usr/bin/env", &["MARKER=zebra123", "/usr/bin/true"]);
    let e = t.exit_of(pid);
    assert!(e.process.filename.ends_with("/true"), "{:?}", e.process);
    assert_eq!(e.process.comm, "true");
    let earlier: Vec<&Vec<String>> = e.process.history.iter().map(|s| &s.argv).collect();
    assert_eq!(
        earlier,
        [&vec!["/usr/bin/env", "MARKER=zebra123", "/usr/bin/true"]]
    );
    assert!(e.process.command_lines().any(|c| c.contains("zebra123")));
    // the exec event itself carries the chain too, for the live table
    assert_eq!(t.execs[&pid].history.len(), 1);

    // bash runs its last command in place: one process, three images
    let pid = run("/bin/bash", &["-c", "uname -r; bash -c \"id -u; date\""]);
    let e = t.exit_of(pid);
    let mut lines: Vec<String> = e.process.command_lines().collect();
    lines.rotate_left(1); // command_lines() gives the current one first
    assert_eq!(
        lines,
        [
            "/bin/bash -c uname -r; bash -c \"id -u; date\"",
            "bash -c id -u; date",
            "date"
        ]
    );
    let times: Vec<_> = e.process.history.iter().map(|s| s.time).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]) && times[1] <= e.process.exec_time);
    // the process's start is its fork, before every exec
    assert!(e.process.start <= e.process.history[0].time);
}

#[test]
fn failed_execs_are_reported_and_folded_into_the_process() {
    let Some(_serial) = common::bpf_test("failed_execs_are_reported_and_folded_into_the_process")
    else {
        return;
    };
    let tracefs_before = tracefs_mounts();
    let mut t = Tracing::start(Duration::ZERO);
    // the ids came from a private mount, if any: the host's mounts are as they were
    assert_eq!(tracefs_mounts(), tracefs_before);

    // env tries each $PATH entry, then exits 127
    let name = format!("nosuchcmd{}", std::process::id());
    // an absolute path: Command itself would search $PATH for env
    let status = Command::new("/usr/bin/env")
        .arg(&name)
        .env("PATH", "/nonexistent/a:/nonexistent/b:/usr/bin")
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn env");
    let pid = status.id();
    common::reap(vec![status]);
    let e = t.exit_of(pid);
    assert_eq!(e.status.code(), Some(127));
    let mine: Vec<_> = t.failed.iter().filter(|f| f.pid == pid).collect();
    let tried: Vec<&str> = mine.iter().map(|f| f.filename.as_str()).collect();
    assert_eq!(
        tried,
        [
            format!("/nonexistent/a/{name}"),
            format!("/nonexistent/b/{name}"),
            format!("/usr/bin/{name}")
        ]
    );
    assert!(mine
        .iter()
        .all(|f| f.errno == libc::ENOENT && f.argv == [name.clone()]));
    let failure = e
        .process
        .last_failure()
        .expect("the exit carries the failure");
    assert_eq!(failure.failure_label().unwrap(), format!("ENOENT {name}"));
    assert_eq!(failure.attempts, 3);
    assert_eq!(failure.tried.len(), 2);

    // a path that is not executable: EACCES, from a forked child that never exec'd
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("noexec.sh");
    std::fs::write(&script, "#!/bin/sh\n").unwrap();
    let pid = run("sh", &["-c", &format!("{} arg1; exit 5", script.display())]);
    let e = t.exit_of(pid);
    assert_eq!(e.status.code(), Some(5));
    assert!(
        t.until(Duration::from_secs(3), |t| t
            .failed
            .iter()
            .any(|f| f.ppid == pid
                && f.errno == libc::EACCES
                && f.argv.len() == 2)),
        "no EACCES failure from sh's child: {:?}",
        t.failed
    );
}

/// execveat reads its arguments from other registers than execve.
#[test]
fn a_failed_execveat_is_reported_with_its_argv() {
    let Some(_serial) = common::bpf_test("a_failed_execveat_is_reported_with_its_argv") else {
        return;
    };
    let mut t = Tracing::start(Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("not-a-program");
    std::fs::write(&data, "data\n").unwrap();
    let path = data.to_str().unwrap();
    let status = Command::new(common::oddproc())
        .args(["execveat", path, "second-arg"])
        .stderr(Stdio::null())
        .status()
        .expect("oddproc");
    assert_eq!(status.code(), Some(127));
    assert!(
        t.until(Duration::from_secs(3), |t| t
            .failed
            .iter()
            .any(|f| f.errno == libc::EACCES
                && f.argv == [path, "second-arg"]
                && f.filename.is_empty())),
        "no failed execveat: {:?}",
        t.failed
    );
}

fn tracefs_mounts() -> usize {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(" - tracefs "))
        .count()
}

/// The binary with tracefs mounted (in a mount namespace of its own, so the
/// host's mounts stay untouched): the ids are read from the mount.
#[test]
fn failed_execs_with_tracefs_mounted() {
    let Some(_serial) = common::bpf_test("failed_execs_with_tracefs_mounted") else {
        return;
    };
    let mount = "mount -t tracefs tracefs /sys/kernel/tracing && exec \"$@\"";
    let wrapper = [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        mount,
        "sh",
    ];
    let tracer = JsonTracer::start_wrapped(&wrapper, &[]);
    let name = format!("mountedmissing{}", std::process::id());
    // a path with a slash: env tries it once
    let _ = Command::new("env")
        .arg(format!("/nonexistent-dir/{name}"))
        .stderr(Stdio::null())
        .status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !tracer.text().contains(&format!("/nonexistent-dir/{name}")) && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let stderr = tracer.stderr_text();
    let lines = tracer.stop();
    let failed: Vec<_> = lines
        .iter()
        .filter(|l| {
            l["event"] == "exec_failed" && l["filename"] == format!("/nonexistent-dir/{name}")
        })
        .collect();
    assert_eq!(failed.len(), 1, "stderr: {stderr}");
    assert_eq!(failed[0]["error"], "ENOENT");
    assert_eq!(failed[0]["errno"], libc::ENOENT);
    for key in ["time", "pid", "ppid", "uid", "comm", "argv"] {
        assert!(failed[0].get(key).is_some(), "{key}");
    }
    assert!(stderr.is_empty(), "{stderr}");
}

/// Without the privilege to mount tracefs, tracing goes on without failed
/// execs and says so once.
#[test]
fn without_tracefs_it_traces_and_says_what_is_missing() {
    let Some(_serial) = common::bpf_test("without_tracefs_it_traces_and_says_what_is_missing")
    else {
        return;
    };
    let wrapper = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all,+bpf,+perfmon",
        "--ambient-caps=-all,+bpf,+perfmon",
    ];
    let tracer = JsonTracer::start_wrapped(&wrapper, &[]);
    let stderr = tracer.stderr_text();
    tracer.stop();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with("tracer-tui: failed execs are not traced:"),
        "{stderr}"
    );
}

fn parent_in_proc(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn an_orphan_shows_its_new_parent() {
    let Some(_serial) = common::bpf_test("an_orphan_shows_its_new_parent") else {
        return;
    };
    let mut t = Tracing::start_live(Duration::ZERO, |_| {});
    let out = Command::new("bash")
        .args(["-c", "sleep 603 >/dev/null 2>&1 & echo $!; sleep 0.3; exit"])
        .stdout(Stdio::piped())
        .output()
        .expect("bash");
    let sleeper: u32 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("pid");
    let guard = KillOnDrop(sleeper);
    let new_parent = parent_in_proc(sleeper).expect("the sleeper is alive");
    let started = Instant::now();
    // the exit's reparenting, not a snapshot: those come every 10 s
    let reparented = t.until(Duration::from_secs(1), |t| {
        t.live(sleeper).is_some_and(|p| p.ppid == new_parent)
    });
    assert!(
        reparented,
        "the live table kept a stale parent; /proc says {new_parent}: {:?}",
        t.live(sleeper)
    );
    eprintln!("new parent shown after {:?}", started.elapsed());
    drop(guard);
}

struct KillOnDrop(u32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        // SAFETY: kill with a pid this test started and a valid signal.
        unsafe { libc::kill(self.0 as i32, libc::SIGKILL) };
    }
}

/// The dashboard's --record with -d: the processes whose exits the filter
/// hid are recorded as gone, so a replay does not keep them as live rows.
#[test]
fn a_recording_made_with_a_min_duration_replays_to_the_same_live_set() {
    let Some(_serial) =
        common::bpf_test("a_recording_made_with_a_min_duration_replays_to_the_same_live_set")
    else {
        return;
    };
    let (text, (mut long, short)) = common::record_filtered("recgone", || {
        let long = Command::new("sleep").arg("30").spawn().expect("sleep");
        let short: Vec<u32> = (0..40).map(|_| run("true", &[])).collect();
        (long, short)
    });
    let _ = long.kill();
    let _ = long.wait();

    let events: Vec<TraceEvent> = text
        .lines()
        .map(|l| record::parse_line(l).expect("a record line"))
        .collect();
    let execs: HashSet<u32> = events
        .iter()
        .filter_map(|e| match e {
            TraceEvent::Exec(p) => Some(p.pid),
            _ => None,
        })
        .collect();
    assert!(
        short.iter().all(|p| execs.contains(p)),
        "every exec is recorded"
    );
    let gone: HashSet<u32> = events
        .iter()
        .flat_map(|e| match e {
            TraceEvent::Gone { processes, .. } => processes.iter().map(|p| p.0).collect(),
            _ => Vec::new(),
        })
        .collect();
    assert!(
        short.iter().all(|p| gone.contains(p)),
        "every hidden exit is marked gone"
    );
    assert!(!gone.contains(&long.id()));

    let mut app = App::new(AppConfig {
        max_finished: 1000,
        min_duration: Duration::from_millis(300),
        filter_in_app: true,
        users: HashMap::new(),
        host: HostInfo::default(),
    });
    app.apply(Message::Events(events));
    assert!(app.live_row(long.id()).is_some(), "the sleeper is live");
    let ghosts: Vec<u32> = short
        .iter()
        .copied()
        .filter(|&p| app.live_row(p).is_some())
        .collect();
    assert!(ghosts.is_empty(), "ghost live rows: {ghosts:?}");
}
