//! Exec storms against the real kernel: nothing lost under a stalled reader,
//! exact drop counts when the ring buffer overflows, pid reuse, bounded memory.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use common::JsonTracer;
use serde_json::Value;

/// Stops the tracer `after` a while, for `stall`, from another thread.
fn stall(tracer: &JsonTracer, after: Duration, stall: Duration) -> std::thread::JoinHandle<()> {
    let pid = tracer.child.id() as i32;
    std::thread::spawn(move || {
        std::thread::sleep(after);
        // SAFETY: kill with the tracer's pid and valid signals.
        unsafe { libc::kill(pid, libc::SIGSTOP) };
        std::thread::sleep(stall);
        // SAFETY: as above.
        unsafe { libc::kill(pid, libc::SIGCONT) };
    })
}

/// (exec count, exit count) per pid in the storm, and the last `lost` totals.
/// Only the storm's children count: other processes may reuse their pids.
fn tally(
    events: &[Value],
    pids: &HashSet<u32>,
) -> (HashMap<u32, (u32, u32)>, HashMap<String, u64>) {
    let mut seen: HashMap<u32, (u32, u32)> = HashMap::new();
    let mut lost = HashMap::new();
    for e in events {
        match e["event"].as_str() {
            Some("lost") => {
                for key in [
                    "exec_ringbuf",
                    "exit_ringbuf",
                    "pid_map_full",
                    "undecodable",
                ] {
                    lost.insert(key.to_string(), e[key].as_u64().unwrap_or(0));
                }
            }
            Some(kind) => {
                let pid = e["pid"].as_u64().unwrap_or(0) as u32;
                if pids.contains(&pid) && e["comm"] == "storm-child" {
                    let entry = seen.entry(pid).or_default();
                    if kind == "exec" {
                        entry.0 += 1;
                    } else {
                        entry.1 += 1;
                    }
                }
            }
            None => panic!("line without event: {e}"),
        }
    }
    (seen, lost)
}

#[test]
fn one_second_stall_loses_nothing() {
    let Some(_serial) = common::bpf_test("one_second_stall_loses_nothing") else {
        return;
    };
    let tracer = JsonTracer::start(&[]);
    let staller = stall(&tracer, Duration::from_millis(300), Duration::from_secs(1));
    let pids = common::run_storm(30_000, 2, 0);
    staller.join().expect("staller");
    std::thread::sleep(Duration::from_millis(1500));
    let events = tracer.stop();
    let all: HashSet<u32> = pids.iter().copied().collect();
    let (seen, lost) = tally(&events, &all);
    let execs = seen.values().filter(|c| c.0 > 0).count();
    let exits = seen.values().filter(|c| c.1 > 0).count();
    eprintln!(
        "1 s stall in a {}-process storm: {execs} execs, {exits} exits seen; lost {lost:?}",
        pids.len()
    );
    assert_eq!((execs, exits), (all.len(), all.len()));
    assert!(lost.values().all(|&n| n == 0), "{lost:?}");
}

#[test]
fn long_stall_counts_exactly_what_it_loses() {
    let Some(_serial) = common::bpf_test("long_stall_counts_exactly_what_it_loses") else {
        return;
    };
    // a 1 MiB ring and a 3 s stall: more than it can hold
    let tracer = JsonTracer::start(&["--ring-buffer", "1"]);
    let staller = stall(&tracer, Duration::from_millis(200), Duration::from_secs(3));
    let pids = common::run_storm(40_000, 2, 0);
    staller.join().expect("staller");
    std::thread::sleep(Duration::from_millis(2500));
    let events = tracer.stop();
    let all: HashSet<u32> = pids.iter().copied().collect();
    let (seen, lost) = tally(&events, &all);
    // pids may be reused within one storm, so count per process run
    let runs = pids.len() as u64;
    let execs: u64 = seen.values().map(|c| c.0 as u64).sum();
    let exits: u64 = seen.values().map(|c| c.1 as u64).sum();
    let (missing_execs, missing_exits) = (runs - execs, runs - exits);
    eprintln!(
        "3 s stall, 1 MiB ring, {runs} processes: missing {missing_execs} execs and {missing_exits} exits; \
         kernel counted {lost:?}"
    );
    assert!(
        missing_execs > 0 && missing_exits > 0,
        "the stall lost nothing: make it longer"
    );
    // every loss is counted; anything counted beyond the storm's belongs to
    // the few other processes that ran meanwhile
    let (exec_drops, exit_drops) = (lost["exec_ringbuf"], lost["exit_ringbuf"]);
    assert!(
        exec_drops >= missing_execs && exec_drops - missing_execs <= 20,
        "{exec_drops} vs {missing_execs}"
    );
    assert!(
        exit_drops >= missing_exits && exit_drops - missing_exits <= 20,
        "{exit_drops} vs {missing_exits}"
    );
    assert_eq!(lost["pid_map_full"], 0);
    assert_eq!(lost["undecodable"], 0);
}

#[test]
fn pid_reuse_keeps_every_run_apart() {
    let Some(_serial) = common::bpf_test("pid_reuse_keeps_every_run_apart") else {
        return;
    };
    let pid_max: usize = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .expect("pid_max")
        .trim()
        .parse()
        .expect("pid_max number");
    assert!(
        pid_max <= 70_000,
        "pid_max {pid_max}: too large to force pid reuse in a test"
    );
    let tracer = JsonTracer::start(&[]);
    let pids = common::run_storm(pid_max + 3_000, 2, 0);
    std::thread::sleep(Duration::from_millis(1500));
    let events = tracer.stop();
    let mut runs: HashMap<u32, u32> = HashMap::new();
    for p in &pids {
        *runs.entry(*p).or_default() += 1;
    }
    let reused = runs.values().filter(|&&n| n > 1).count();
    assert!(reused > 0, "no pid was reused");
    let (seen, _) = tally(&events, &runs.keys().copied().collect());
    for (pid, n) in &runs {
        assert_eq!(seen.get(pid), Some(&(*n, *n)), "pid {pid} ran {n} times");
    }
    // every exit was joined with its own exec: the exec of the same run, whose
    // time is the exit's start time (a join by pid alone would pick another)
    let mut last_exec: HashMap<u32, Value> = HashMap::new();
    for e in events.iter().filter(|e| e["comm"] == "storm-child") {
        let pid = e["pid"].as_u64().unwrap_or(0) as u32;
        if !runs.contains_key(&pid) {
            continue;
        }
        if e["event"] == "exec" {
            last_exec.insert(pid, e.clone());
        } else if e["event"] == "exit" {
            let exec = last_exec
                .remove(&pid)
                .unwrap_or_else(|| panic!("exit before exec: {e}"));
            assert_eq!(e["start_time"], exec["time"], "{e}");
            assert_eq!(
                e["argv"],
                serde_json::json!(["storm-child", "0", "0"]),
                "{e}"
            );
            assert_eq!(e["origin"], "exec", "{e}");
        }
    }
    eprintln!(
        "{} processes, {reused} pids reused, every run reported and joined",
        pids.len()
    );
}

#[test]
fn thirty_second_soak_keeps_memory_flat() {
    let Some(_serial) = common::bpf_test("thirty_second_soak_keeps_memory_flat") else {
        return;
    };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/soak.py");
    let out = std::process::Command::new("python3")
        .args([script, "--seconds", "30", "--no-build"])
        .output()
        .expect("run soak.py");
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "soak failed");
    assert!(text.contains("soak: ok"), "{text}");
}

#[test]
fn exec_lost_in_a_full_ring_is_sent_at_exit_and_joined() {
    let Some(_serial) = common::bpf_test("exec_lost_in_a_full_ring_is_sent_at_exit_and_joined")
    else {
        return;
    };
    let tracer = JsonTracer::start(&["--ring-buffer", "1"]);
    tracer.signal(libc::SIGSTOP);
    // fill the ring while nobody reads it, then start processes whose exec
    // events cannot fit and which end after the reader is back
    common::run_storm(20_000, 2, 0);
    let marker = format!("late-{}", std::process::id());
    let sleepers: Vec<_> = (0..5)
        .map(|_| {
            std::process::Command::new("bash")
                .args(["-c", "sleep 1.5; true", &marker])
                .spawn()
                .expect("spawn")
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    tracer.signal(libc::SIGCONT);
    let pids: Vec<u32> = common::reap(sleepers);
    std::thread::sleep(Duration::from_millis(500));
    let events = tracer.stop();
    let lost = events
        .iter()
        .rev()
        .find(|e| e["event"] == "lost")
        .cloned()
        .unwrap_or_default();
    assert!(
        lost["exec_ringbuf"].as_u64().unwrap_or(0) > 0,
        "the ring never filled: {lost}"
    );
    for pid in pids {
        let of = |kind: &str| {
            events
                .iter()
                .find(|e| e["event"] == kind && e["pid"] == pid && e["comm"] == "bash")
        };
        let exec = of("exec").unwrap_or_else(|| panic!("exec of {pid} never sent"));
        let exit = of("exit").unwrap_or_else(|| panic!("exit of {pid} missing"));
        // sent late, at exit: after the exit of the sleep that bash started
        // once it had exec'd, where a timely exec would come long before
        let child_exit = events
            .iter()
            .position(|e| e["event"] == "exit" && e["ppid"] == pid && e["comm"] == "sleep")
            .unwrap_or_else(|| panic!("no exit of the sleep started by {pid}"));
        let position = |v: &Value| events.iter().position(|e| std::ptr::eq(e, v)).unwrap_or(0);
        assert!(position(exec) > child_exit, "the exec was not the late one");
        assert!(position(exec) < position(exit));
        assert_eq!(
            exec["argv"],
            serde_json::json!(["bash", "-c", "sleep 1.5; true", marker])
        );
        assert_eq!(
            exit["argv"], exec["argv"],
            "exit not joined with its late exec"
        );
        assert_eq!(exit["origin"], "exec");
    }
}
