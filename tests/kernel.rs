//! Real BPF, real processes: what the kernel program reports about
//! processes these tests spawn. Needs root.

mod common;

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::tracing::{run, Tracing};
use tracer_tui::backend::Command as BackendCommand;
use tracer_tui::event::Origin;

#[test]
fn exit_code_argv_ppid_and_filename() {
    let Some(_serial) = common::bpf_test("exit_code_argv_ppid_and_filename") else {
        return;
    };
    let started = Instant::now();
    let mut t = Tracing::start(Duration::ZERO);
    eprintln!("load, attach and seed from /proc: {:?}", started.elapsed());

    let sh = run("sh", &["-c", "exit 3"]);
    let e = t.exit_of(sh);
    assert_eq!(e.status.code(), Some(3));
    assert_eq!(e.status.signal(), None);
    assert_eq!(e.process.argv, ["sh", "-c", "exit 3"]);
    assert_eq!(e.process.ppid, std::process::id());
    assert_eq!(e.process.uid, 0);
    assert_eq!(e.process.origin, Origin::Exec);

    let echo = run("/bin/echo", &["a", "b c"]);
    let e = t.exit_of(echo);
    assert_eq!(e.process.argv, ["/bin/echo", "a", "b c"]);
    assert_eq!(e.process.filename, "/bin/echo");
    assert_eq!(e.process.comm, "echo");
    let exec = &t.execs[&echo];
    assert_eq!(exec.argv, ["/bin/echo", "a", "b c"]);
    assert_eq!(exec.ppid, std::process::id());
    assert!(exec.cgroup_id != 0);
}

#[test]
fn signal_and_duration() {
    let Some(_serial) = common::bpf_test("signal_and_duration") else {
        return;
    };
    let mut t = Tracing::start(Duration::ZERO);

    let mut child = Command::new("sleep").arg("10").spawn().expect("spawn");
    let pid = child.id();
    assert!(t.until(Duration::from_secs(5), |t| t.execs.contains_key(&pid)));
    child.kill().expect("kill");
    child.wait().expect("wait");
    let e = t.exit_of(pid);
    assert_eq!(e.status.signal(), Some(9));
    assert_eq!(e.status.code(), None);
    assert!(!e.status.core_dumped());

    let sleeper = run("sleep", &["0.2"]);
    let e = t.exit_of(sleeper);
    let ms = e.duration_ns as f64 / 1e6;
    assert!(
        (199.0..215.0).contains(&ms),
        "sleep 0.2 lasted {ms} ms by the kernel"
    );
    assert!(e.end > e.process.start);
}

#[test]
fn processes_started_before_tracing_are_live_and_joined() {
    let Some(_serial) = common::bpf_test("processes_started_before_tracing_are_live_and_joined")
    else {
        return;
    };
    let mut early = Command::new("sleep").arg("30").spawn().expect("spawn");
    let pid = early.id();
    std::thread::sleep(Duration::from_millis(50));
    let mut t = Tracing::start_live(Duration::ZERO, |_| {});

    let live = t.snapshots[0].clone();
    let p = live
        .iter()
        .find(|p| p.pid == pid)
        .expect("pre-existing sleep in the live snapshot");
    assert_eq!(p.origin, Origin::Proc);
    assert_eq!(p.argv, ["sleep", "30"]);
    assert_eq!(p.ppid, std::process::id());

    early.kill().expect("kill");
    early.wait().expect("wait");
    let e = t.exit_of(pid);
    assert_eq!(e.process.argv, ["sleep", "30"]);
    assert_eq!(e.status.signal(), Some(9));
    let secs = e.duration_ns as f64 / 1e9;
    assert!(
        (0.04..5.0).contains(&secs),
        "duration from the process start: {secs} s"
    );
    assert!(
        t.until(Duration::from_secs(1), |t| t.live(pid).is_none()),
        "ended process still live"
    );
}

#[test]
fn min_duration_changes_at_runtime() {
    let Some(_serial) = common::bpf_test("min_duration_changes_at_runtime") else {
        return;
    };
    let mut t = Tracing::start(Duration::ZERO);
    t.backend
        .send(BackendCommand::SetMinDuration(Duration::from_millis(100)))
        .expect("send");
    assert!(t.until(Duration::from_secs(5), |t| t.min_duration
        == Some(Duration::from_millis(100))));

    let short = run("sleep", &["0.01"]);
    let long = run("sleep", &["0.3"]);
    let e = t.exit_of(long);
    assert!(e.duration_ns >= 300_000_000);
    // give a wrongly reported short exit every chance to arrive
    t.until(Duration::from_millis(300), |_| false);
    assert!(t.execs.contains_key(&short), "exec events always flow");
    assert!(t.execs.contains_key(&long));
    assert!(
        !t.exits.contains_key(&short),
        "a 10 ms exit passed a 100 ms filter"
    );

    // and back to zero: short exits are reported again
    t.backend
        .send(BackendCommand::SetMinDuration(Duration::ZERO))
        .expect("send");
    assert!(t.until(Duration::from_secs(5), |t| t.min_duration
        == Some(Duration::ZERO)));
    let short = run("sleep", &["0.01"]);
    t.exit_of(short);
}

/// Spawns `n` processes from `workers` threads; returns their pids.
fn storm(n: usize, workers: usize, cmd: &'static str, args: &'static [&'static str]) -> Vec<u32> {
    let handles: Vec<_> = (0..workers)
        .map(|w| {
            std::thread::spawn(move || {
                let count = n / workers + usize::from(w < n % workers);
                (0..count).map(|_| run(cmd, args)).collect::<Vec<u32>>()
            })
        })
        .collect();
    handles
        .into_iter()
        .flat_map(|h| h.join().expect("storm worker"))
        .collect()
}

#[test]
fn two_thousand_rapid_processes_all_seen() {
    let Some(_serial) = common::bpf_test("two_thousand_rapid_processes_all_seen") else {
        return;
    };
    let mut t = Tracing::start(Duration::ZERO);
    let started = Instant::now();
    let pids = storm(2000, 2, "/bin/true", &[]);
    let secs = started.elapsed().as_secs_f64();
    let all: HashSet<u32> = pids.iter().copied().collect();
    let seen = |t: &Tracing| {
        all.iter()
            .all(|p| t.execs.contains_key(p) && t.exits.contains_key(p))
    };
    let complete = t.until(Duration::from_secs(10), seen);
    let execs = all.iter().filter(|p| t.execs.contains_key(p)).count();
    let exits = all.iter().filter(|p| t.exits.contains_key(p)).count();
    eprintln!(
        "2000 processes in {secs:.2} s: {execs} execs, {exits} exits seen, drops {:?}",
        t.drops
    );
    assert!(
        complete,
        "missing: {} execs, {} exits",
        2000 - execs,
        2000 - exits
    );
    // drop counts are read each second
    t.until(Duration::from_millis(1500), |_| false);
    assert_eq!(t.drops.total(), 0, "{:?}", t.drops);
}

#[test]
fn min_duration_storm_keeps_every_long_exit() {
    let Some(_serial) = common::bpf_test("min_duration_storm_keeps_every_long_exit") else {
        return;
    };
    // the kernel program alone must leave nothing behind: no clean-up from /proc
    let mut t = Tracing::start_live(Duration::from_millis(50), |c| c.forget_gone = false);
    let started = Instant::now();
    let short: HashSet<u32> = storm(20_000, 2, "/bin/true", &[]).into_iter().collect();
    let short_secs = started.elapsed().as_secs_f64();
    let long: Vec<u32> = (0..4)
        .flat_map(|_| {
            let children: Vec<_> = (0..50)
                .map(|_| Command::new("sleep").arg("0.1").spawn().expect("spawn"))
                .collect();
            common::reap(children)
        })
        .collect();
    let all_long = t.until(Duration::from_secs(10), |t| {
        long.iter().all(|p| t.exits.contains_key(p))
    });
    let reported = long.iter().filter(|p| t.exits.contains_key(p)).count();
    let live = t.live_after_reconcile();
    // records of the short processes themselves (their pids may be reused)
    let leaked = live
        .iter()
        .filter(|p| short.contains(&p.pid) && p.comm == "true" && p.origin == Origin::Exec)
        .count();
    eprintln!(
        "20000 short in {short_secs:.2} s, then 200 long: {reported} long exits reported, \
         {} short exits reported, {leaked} pid-map entries left, drops {:?}",
        short.iter().filter(|p| t.exits.contains_key(p)).count(),
        t.drops
    );
    assert!(all_long, "only {reported} of 200 long exits reported");
    assert_eq!(t.drops.total(), 0);
    assert_eq!(leaked, 0, "filtered exits left records in the pid map");
    // nothing shorter than the filter came through, from the first event on
    assert!(
        t.exits.values().all(|e| e.duration_ns >= 50_000_000),
        "a short exit passed"
    );
}

#[test]
fn threads_exec_and_exit_count_once_per_process() {
    let Some(_serial) = common::bpf_test("threads_exec_and_exit_count_once_per_process") else {
        return;
    };
    let odd = common::oddproc();
    let mut t = Tracing::start(Duration::ZERO);

    // exec from a non-leader thread: recorded under the process id
    let pid = run(odd, &["thread-exec", "/bin/echo", "thread-exec-marker"]);
    let e = t.exit_of(pid);
    assert_eq!(e.process.argv, ["/bin/echo", "thread-exec-marker"]);
    assert_eq!(e.process.filename, "/bin/echo");
    assert_eq!(e.status.code(), Some(0));

    // the main thread exits first; the process ends 200 ms later, once
    let pid = run(odd, &["leader-first", "7"]);
    let e = t.exit_of(pid);
    assert_eq!(e.status.code(), Some(7));
    assert!(
        e.duration_ns >= 200_000_000,
        "reported at the leader's exit: {} ns",
        e.duration_ns
    );

    // threads that come and go are not process exits
    let pid = run(odd, &["threads", "20", "5"]);
    let e = t.exit_of(pid);
    assert_eq!(e.status.code(), Some(5));
    // nor are threads that all end at once in exit_group, on both CPUs
    let group_exits: Vec<u32> = (0..30)
        .map(|_| run(odd, &["group-exit", "8", "6"]))
        .collect();
    for pid in &group_exits {
        assert_eq!(t.exit_of(*pid).status.code(), Some(6));
    }
    t.until(Duration::from_millis(200), |_| false);
    for pid in t.exit_count.keys().filter(|p| t.execs.contains_key(p)) {
        assert_eq!(
            t.exit_count[pid], 1,
            "pid {pid} reported {} exits",
            t.exit_count[pid]
        );
    }
}

#[test]
fn forked_without_exec_gets_its_duration_from_the_task() {
    let Some(_serial) = common::bpf_test("forked_without_exec_gets_its_duration_from_the_task")
    else {
        return;
    };
    let mut t = Tracing::start(Duration::ZERO);
    // the subshell is a fork of sh that never execs
    let out = Command::new("sh")
        .args(["-c", "(sleep 0.3; exit 4) & echo $!; wait"])
        .output()
        .expect("sh");
    let pid: u32 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("subshell pid");
    let e = t.exit_of(pid);
    // joined with what /proc showed of it, if a snapshot saw it alive
    assert!(
        matches!(e.process.origin, Origin::ExitOnly | Origin::Forked),
        "{e:?}"
    );
    assert_eq!(e.status.code(), Some(4));
    let ms = e.duration_ns as f64 / 1e6;
    assert!((299.0..400.0).contains(&ms), "subshell lived {ms} ms");
}

#[test]
fn a_full_pid_map_is_counted_and_exits_still_join() {
    let Some(_serial) = common::bpf_test("a_full_pid_map_is_counted_and_exits_still_join") else {
        return;
    };
    // a map far smaller than the processes alive: the /proc seed fills it
    let mut t = Tracing::start_live(Duration::ZERO, |c| c.load.max_processes = 16);
    let marker = format!("full-map-{}", std::process::id());
    let sleepers: Vec<_> = (0..40)
        .map(|_| {
            Command::new("bash")
                .args(["-c", "sleep 0.3; true", &marker])
                .spawn()
                .expect("spawn")
        })
        .collect();
    // exec'd while the 40 fill the map
    let mut sleeper = Command::new("/usr/bin/sleep")
        .arg("2.5")
        .spawn()
        .expect("sleep");
    let pids: Vec<u32> = common::reap(sleepers);
    for pid in &pids {
        let e = t.exit_of(*pid);
        assert_eq!(
            e.process.argv,
            ["bash", "-c", "sleep 0.3; true", marker.as_str()],
            "exit not joined"
        );
    }
    // a process that exec'd while the map was full is live as exec'd, with
    // its own command line, and flagged as not kept in the map
    let pid = sleeper.id();
    let live = t.live_after_reconcile();
    let live = live
        .iter()
        .find(|p| p.pid == pid)
        .expect("the sleeper is live");
    assert_eq!(live.origin, Origin::Exec, "{live:?}");
    assert_eq!(live.argv, ["/usr/bin/sleep", "2.5"]);
    assert!(live.not_kept, "{live:?}");
    sleeper.wait().expect("wait");
    let e = t.exit_of(pid);
    assert_eq!((e.process.origin, e.process.not_kept), (Origin::Exec, true));
    t.until(Duration::from_secs(3), |t| t.drops.pid_map_full >= 25);
    eprintln!(
        "pid map of 16 records, 40 processes alive: drops {:?}",
        t.drops
    );
    assert!(t.drops.pid_map_full >= 25, "{:?}", t.drops);
    assert_eq!(t.drops.exec_ringbuf + t.drops.exit_ringbuf, 0);
}

#[test]
fn forked_children_without_exec_are_live_and_joined() {
    let Some(_serial) = common::bpf_test("forked_children_without_exec_are_live_and_joined") else {
        return;
    };
    let mut t = Tracing::start_live(Duration::ZERO, |_| {});
    // a subshell is a fork of bash that never execs; it prints its own pid
    let marker = format!("forked-{}", std::process::id());
    let mut bash = Command::new("bash")
        .args(["-c", "(echo $BASHPID; sleep 2.5; exit 5) & wait", &marker])
        .stdout(Stdio::piped())
        .spawn()
        .expect("bash");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(bash.stdout.take().expect("stdout")),
        &mut line,
    )
    .expect("subshell pid");
    let pid: u32 = line.trim().parse().expect("a pid");
    assert!(
        t.until(Duration::from_secs(1), |t| t.live(pid).is_some()),
        "the subshell never appeared in the live table"
    );
    let p = t.live(pid).expect("subshell");
    assert_eq!(p.origin, Origin::Forked);
    assert_eq!(
        p.argv,
        [
            "bash",
            "-c",
            "(echo $BASHPID; sleep 2.5; exit 5) & wait",
            marker.as_str()
        ]
    );
    bash.wait().expect("wait");
    let e = t.exit_of(pid);
    assert_eq!(e.status.code(), Some(5));
    assert_eq!(e.process.origin, Origin::Forked);
    assert_eq!(e.process.argv, p.argv);
}
