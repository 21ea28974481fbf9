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

/// The storm's process: the parent of most of its children's execs. Another
/// storm may run at the same time (another test run on the host), and its
/// children, of the same name, may reuse the pids of this one's.
fn storm_parent(events: &[Value], pids: &HashSet<u32>) -> u64 {
    let mut parents: HashMap<u64, u64> = HashMap::new();
    for e in events.iter().filter(|e| e["event"] == "exec") {
        let pid = e["pid"].as_u64().unwrap_or(0) as u32;
        if pids.contains(&pid) && e["comm"] == "storm-child" {
            *parents.entry(e["ppid"].as_u64().unwrap_or(0)).or_default() += 1;
        }
    }
    parents
        .into_iter()
        .max_by_key(|&(_, n)| n)
        .map_or(0, |(ppid, _)| ppid)
}

/// An exec or exit of one of this storm's children.
fn is_storm_child(e: &Value, pids: &HashSet<u32>, parent: u64) -> bool {
    let pid = e["pid"].as_u64().unwrap_or(0) as u32;
    pids.contains(&pid) && e["comm"] == "storm-child" && e["ppid"].as_u64() == Some(parent)
}

/// (exec count, exit count) per pid in the storm, and the last `lost` totals.
/// Only the storm's children count: other processes may reuse their pids.
fn tally(
    events: &[Value],
    pids: &HashSet<u32>,
) -> (HashMap<u32, (u32, u32)>, HashMap<String, u64>) {
    let mut seen: HashMap<u32, (u32, u32)> = HashMap::new();
    let mut lost = HashMap::new();
    let parent = storm_parent(events, pids);
    for e in events {
        match e["event"].as_str() {
            Some("lost") => {
                for key in [
                    "exec_ringbuf",
                    "exit_ringbuf",
                    "exec_failed_ringbuf",
                    "pid_map_full",
                    "undecodable",
                ] {
                    lost.insert(key.to_string(), e[key].as_u64().unwrap_or(0));
                }
            }
            Some(kind @ ("exec" | "exit")) => {
                if is_storm_child(e, pids, parent) {
                    let pid = e["pid"].as_u64().unwrap_or(0) as u32;
                    let entry = seen.entry(pid).or_default();
                    if kind == "exec" {
                        entry.0 += 1;
                    } else {
                        entry.1 += 1;
                    }
                }
            }
            Some(_) => {}
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
    // built first, so the stall falls inside the storm
    common::storm_binaries();
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

/// Kernel events of processes other than the storm's children, by kind:
/// exec lines that are real execs (not the /proc seed), exits, failed execs.
#[derive(Debug, Default, Clone, Copy)]
struct Others {
    execs: u64,
    exits: u64,
    failed: u64,
}

fn others(events: &[Value], storm: &HashSet<u32>, parent: u64) -> Others {
    let mut n = Others::default();
    for e in events {
        if is_storm_child(e, storm, parent) {
            continue;
        }
        match e["event"].as_str() {
            Some("exec") if e["origin"] == "exec" => n.execs += 1,
            Some("exit") => n.exits += 1,
            Some("exec_failed") => n.failed += 1,
            _ => {}
        }
    }
    n
}

/// The kernel's count of processes and threads created since boot.
fn forks_since_boot() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").expect("/proc/stat");
    stat.lines()
        .find_map(|l| l.strip_prefix("processes "))
        .and_then(|n| n.trim().parse().ok())
        .expect("processes line in /proc/stat")
}

fn processes_now() -> u64 {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(Result::ok)
        .filter(|d| d.file_name().to_string_lossy().parse::<u32>().is_ok())
        .count() as u64
}

#[test]
fn long_stall_counts_exactly_what_it_loses() {
    let Some(_serial) = common::bpf_test("long_stall_counts_exactly_what_it_loses") else {
        return;
    };
    // The drop counters count every process's lost events, and other
    // processes may run meanwhile (a busy host). So: every missing storm
    // event must be counted, and what is counted beyond that must fit in
    // what other processes did. That is measured by a second tracer that is
    // never stalled and has room to spare (it must lose nothing), started
    // before and stopped after the stalled one; /proc/stat's fork count
    // checks that second tracer independently.
    // built first: a build inside the stall window would leave nothing to lose
    common::storm_binaries();
    let (forks_before, alive_before) = (forks_since_boot(), processes_now());
    let reference = JsonTracer::start(&["--ring-buffer", "64"]);
    // a 1 MiB ring and a 3 s stall: more than it can hold
    let tracer = JsonTracer::start(&["--ring-buffer", "1"]);
    let staller = stall(&tracer, Duration::from_millis(200), Duration::from_secs(3));
    let pids = common::run_storm(40_000, 2, 0);
    staller.join().expect("staller");
    std::thread::sleep(Duration::from_millis(2500));
    let events = tracer.stop();
    let reference = reference.stop();
    let forks = forks_since_boot() - forks_before;

    let all: HashSet<u32> = pids.iter().copied().collect();
    let (seen, lost) = tally(&events, &all);
    // pids may be reused within one storm, so count per process run
    let runs = pids.len() as u64;
    let execs: u64 = seen.values().map(|c| c.0 as u64).sum();
    let exits: u64 = seen.values().map(|c| c.1 as u64).sum();
    let (missing_execs, missing_exits) = (runs - execs, runs - exits);

    let (ref_seen, ref_lost) = tally(&reference, &all);
    assert!(
        ref_lost.values().all(|&n| n == 0),
        "the reference tracer lost events, so it cannot bound the others: {ref_lost:?}"
    );
    let ref_execs: u64 = ref_seen.values().map(|c| c.0 as u64).sum();
    let ref_exits: u64 = ref_seen.values().map(|c| c.1 as u64).sum();
    assert_eq!(
        (ref_execs, ref_exits),
        (runs, runs),
        "the reference missed storm events"
    );
    let parent = storm_parent(&reference, &all);
    let (host, saw) = (
        others(&reference, &all, parent),
        others(&events, &all, parent),
    );
    // other processes' exits: each was forked in the window (the fork count
    // also holds the storm's children and every thread) or alive at its start
    assert!(
        host.exits <= (forks - runs) + alive_before,
        "the reference saw {} other exits, more than {forks} forks ({runs} the storm's) \
         and {alive_before} processes alive at the start allow",
        host.exits
    );
    eprintln!(
        "3 s stall, 1 MiB ring, {runs} processes: missing {missing_execs} execs and \
         {missing_exits} exits; kernel counted {lost:?}; other processes meanwhile: {host:?} \
         ({saw:?} of them seen by the stalled tracer); {forks} forks in all"
    );
    assert!(
        missing_execs > 0 && missing_exits > 0,
        "the stall lost nothing: make it longer"
    );

    // every loss is counted; what is counted beyond the storm's is what
    // other processes did that the stalled tracer did not report
    let bound = |kind: &str, drops: u64, missing: u64, host: u64, saw: u64| {
        assert!(
            drops >= missing,
            "{kind}: {missing} storm events missing, only {drops} counted as lost"
        );
        let unreported = host.saturating_sub(saw);
        assert!(
            drops - missing <= unreported,
            "{kind}: {} counted beyond the storm's {missing}, but other processes had only \
             {unreported} events the stalled tracer did not report ({host} in all)",
            drops - missing
        );
    };
    bound(
        "exec",
        lost["exec_ringbuf"],
        missing_execs,
        host.execs,
        saw.execs,
    );
    bound(
        "exit",
        lost["exit_ringbuf"],
        missing_exits,
        host.exits,
        saw.exits,
    );
    bound(
        "failed exec",
        lost["exec_failed_ringbuf"],
        0,
        host.failed,
        saw.failed,
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
    let storm: HashSet<u32> = runs.keys().copied().collect();
    let (seen, _) = tally(&events, &storm);
    for (pid, n) in &runs {
        assert_eq!(seen.get(pid), Some(&(*n, *n)), "pid {pid} ran {n} times");
    }
    // every exit was joined with its own exec: the exec of the same run, whose
    // time is the exit's exec time (a join by pid alone would pick another)
    let mut last_exec: HashMap<u32, Value> = HashMap::new();
    let parent = storm_parent(&events, &storm);
    for e in events.iter().filter(|e| is_storm_child(e, &storm, parent)) {
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
            // the process start is its fork; the exec's own time tells runs apart
            assert_eq!(e["exec_time"], exec["time"], "{e}");
            assert_eq!(e["start_time"], exec["start_time"], "{e}");
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
