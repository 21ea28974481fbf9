//! Unit tests of the joiner: execs, forks, failed execs, exits, ends,
//! reparentings and reconciles with the pid map.

use super::*;
use crate::event::ExitStatus;

fn clock() -> BootClock {
    BootClock::with_offset(1_000)
}

fn record(pid: u32, start: u64) -> ProcessInfo {
    ProcessInfo {
        pid,
        ppid: 1,
        uid: 1000,
        comm: "sleep".into(),
        filename: "/bin/sleep".into(),
        argv: vec!["sleep".into(), "1".into()],
        start_boot_ns: start,
        ..Default::default()
    }
}

fn raw(pid: u32, start: u64, end: u64, had_record: bool) -> RawExit {
    RawExit {
        pid,
        ppid: 1,
        uid: 1000,
        status: ExitStatus(3 << 8),
        start_boot_ns: start,
        exit_boot_ns: end,
        comm: "sleep".into(),
        thread_comm: "worker".into(),
        had_record,
        reaper: 0,
        usage: Default::default(),
    }
}

fn fork_of(pid: u32, ppid: u32, start: u64) -> RawFork {
    RawFork {
        pid,
        ppid,
        uid: 1000,
        comm: "worker-thread".into(),
        start_boot_ns: start,
        not_kept: false,
    }
}

#[test]
fn a_forked_child_runs_its_parents_image_and_its_exec_adds_no_step() {
    let mut j = Joiner::default();
    let mut sh = record(80, 100);
    sh.argv = vec!["sh".into(), "-c".into(), "x".into()];
    sh.comm = "sh".into();
    j.exec(sh);
    let child = j.fork(&fork_of(81, 80, 500), &clock());
    assert_eq!(child.origin, Origin::Forked);
    assert_eq!(child.argv, ["sh", "-c", "x"]);
    assert_eq!((child.comm.as_str(), child.ppid), ("sh", 80));
    assert_eq!(child.start.0, 1_500);
    assert_eq!(child.exec_time, child.start);
    // a failed attempt first, then the exec
    j.exec_failed(&FailedExec {
        pid: 81,
        filename: "/nope".into(),
        errno: 2,
        start_boot_ns: 500,
        time: WallTime(1_600),
        ..Default::default()
    });
    let mut ls = record(81, 500);
    ls.argv = vec!["ls".into()];
    ls.exec_time = WallTime(1_700);
    let ls = j.exec(ls);
    assert_eq!(ls.history.len(), 1, "only the failure: {:?}", ls.history);
    assert!(ls.history[0].failed());
    // an unknown parent: the child keeps its own name
    let orphan = j.fork(&fork_of(90, 12345, 600), &clock());
    assert_eq!(
        (orphan.comm.as_str(), orphan.argv.len()),
        ("worker-thread", 0)
    );
}

#[test]
fn reparenting_and_reconcile_keep_the_newest_parent() {
    let mut j = Joiner::default();
    j.exec(record(80, 100));
    j.fork(&fork_of(81, 80, 500), &clock());
    j.fork(&fork_of(82, 80, 600), &clock());
    j.exec(record(83, 700));
    j.reparent(80, 1);
    let mut live = j.live();
    live.sort_by_key(|p| p.pid);
    let parents: Vec<(u32, u32)> = live.iter().map(|p| (p.pid, p.ppid)).collect();
    assert_eq!(parents, [(80, 1), (81, 1), (82, 1), (83, 1)]);
    // the map still has the parent at fork, and no image for a forked one
    let mut forked = record(81, 500);
    forked.ppid = 80;
    forked.origin = Origin::Forked;
    forked.argv.clear();
    forked.filename.clear();
    j.replace(&[forked], 1_000);
    let p = &j.live()[0];
    assert_eq!((p.pid, p.ppid), (81, 1));
    assert_eq!(p.argv, ["sleep", "1"], "the image given at fork");
}

#[test]
fn a_reconcile_that_finds_what_events_told_changes_nothing() {
    let mut j = Joiner::default();
    j.replace(&[record(1, 10), record(2, 20)], 100);
    assert!(j.replace_changed(), "the first read is news");
    j.exec(record(3, 200));
    j.reparent(1, 7);
    let mut map = vec![record(1, 10), record(2, 20), record(3, 200)];
    j.replace(&map, 300);
    assert!(!j.replace_changed(), "the map's older parent is not news");
    // a fork whose event is still on its way: not news yet, and not
    // taken in, so that a lost event is news at the next read
    map.push(record(4, 390));
    j.reconcile(&map, &[], 400, (350, WallTime(350)));
    assert!(!j.replace_changed());
    assert!(j.live().iter().all(|p| p.pid != 4));
    // records it holds as the map has them need no decoding
    assert!(j.holds(3, 200, WallTime(0)) && !j.holds(3, 201, WallTime(0)));
    j.reconcile(&map[2..], &[1, 2], 500, (450, WallTime(450)));
    assert!(j.replace_changed(), "older now: its event was lost");
}

#[test]
fn an_end_kept_back_by_the_filter_drops_the_record() {
    let mut j = Joiner::default();
    j.exec(record(10, 100));
    let ended = RawEnded {
        pid: 10,
        start_boot_ns: 100,
        exit_boot_ns: 200,
        reaper: 0,
        had_record: true,
    };
    assert_eq!(j.ended(&ended, &clock()), (10, WallTime(0)));
    assert!(j.is_empty());
}

#[test]
fn joins_exit_with_exec() {
    let mut j = Joiner::default();
    j.exec(record(10, 100));
    let e = j.exit(raw(10, 100, 600, true), &clock());
    assert_eq!(e.process.filename, "/bin/sleep");
    assert_eq!(e.duration_ns, 500);
    assert_eq!(e.end.0, 1_600);
    assert!(j.is_empty());
}

#[test]
fn pid_reuse_does_not_join_the_old_record() {
    let mut j = Joiner::default();
    j.exec(record(10, 100));
    let e = j.exit(raw(10, 200, 300, true), &clock());
    assert_eq!(e.process.origin, Origin::ExitOnly);
    assert_eq!(e.process.filename, "");
    assert_eq!(e.process.comm, "sleep");
    assert_eq!(e.duration_ns, 100);
}

#[test]
fn lost_exec_joins_from_snapshot() {
    let mut j = Joiner::default();
    j.replace(&[record(11, 50)], 60);
    let e = j.exit(raw(11, 50, 90, true), &clock());
    assert_eq!(e.process.argv, ["sleep", "1"]);
}

#[test]
fn snapshot_prunes_unreported_exits_after_one_round() {
    let mut j = Joiner::default();
    j.exec(record(1, 10)); // exit filtered in the kernel: never reported
    j.exec(record(2, 500)); // exec after the snapshot was taken
    j.replace(&[], 100);
    assert_eq!(j.len(), 2);
    // an exit in flight during the snapshot still joins
    let e = j.exit(raw(1, 10, 150, true), &clock());
    assert_eq!(e.process.origin, Origin::Exec);
    j.exec(record(3, 20));
    j.replace(&[record(2, 500)], 1_000);
    j.replace(&[record(2, 500)], 2_000);
    assert_eq!(j.len(), 1, "only the live process is kept");
}

#[test]
fn reexec_builds_a_chain_that_the_exit_carries() {
    let mut j = Joiner::default();
    let mut env = record(20, 100);
    env.argv = vec!["env".into(), "MARKER=zebra123".into(), "true".into()];
    j.exec(env);
    let mut t = record(20, 100);
    t.argv = vec!["true".into()];
    t.exec_time = WallTime(5);
    let t = j.exec(t);
    assert_eq!(t.history.len(), 1);
    let e = j.exit(raw(20, 100, 900, true), &clock());
    assert_eq!(e.process.argv, ["true"]);
    assert_eq!(e.process.history[0].argv[1], "MARKER=zebra123");
    assert_eq!(
        e.process.comm, "sleep",
        "the process's name, not the thread's"
    );
    assert_eq!(e.exit_comm, "worker");
    // a new process on the same pid starts a new chain
    let other = j.exec(record(20, 2_000));
    assert!(other.history.is_empty());
}

#[test]
fn a_failed_exec_joins_a_child_that_never_exec_d() {
    let mut j = Joiner::default();
    let f = FailedExec {
        pid: 30,
        comm: "sh".into(),
        filename: "/usr/bin/nosuchcmd".into(),
        argv: vec!["nosuchcmd".into()],
        errno: 2,
        start_boot_ns: 300,
        ..Default::default()
    };
    j.exec_failed(&f);
    j.exec_failed(&FailedExec {
        filename: "/bin/nosuchcmd".into(),
        ..f.clone()
    });
    let mut x = raw(30, 300, 400, false);
    x.status = ExitStatus(127 << 8);
    let e = j.exit(x, &clock());
    let failure = e.process.last_failure().expect("the failure is kept");
    assert_eq!(failure.tried, ["/usr/bin/nosuchcmd"]);
    assert_eq!(failure.failure_label().unwrap(), "ENOENT nosuchcmd");
}

#[test]
fn snapshots_keep_history_and_give_up_on_the_unreported() {
    let mut j = Joiner::default();
    j.exec(record(40, 100));
    let mut again = record(40, 100);
    again.exec_time = WallTime(7);
    j.exec(again.clone());
    // the pid map holds only the newest image, with a new parent
    again.ppid = 1;
    j.replace(&[again.clone()], 1_000);
    let live = j.live();
    assert_eq!((live[0].history.len(), live[0].ppid), (1, 1));
    j.exec(record(41, 200)); // its exit was filtered: never reported
    assert!(j.replace(&[again.clone()], 2_000).is_empty());
    let gone = j.replace(&[again], 3_000);
    assert_eq!(gone, [(41, WallTime(0))]);
}

#[test]
fn a_snapshot_that_saw_the_later_image_first_keeps_the_order() {
    let mut j = Joiner::default();
    let mut later = record(60, 100);
    later.argv = vec!["true".into()];
    later.exec_time = WallTime(20);
    j.replace(&[later], 1_000);
    let mut env = record(60, 100);
    env.argv = vec!["env".into()];
    env.exec_time = WallTime(10);
    let sent = j.exec(env);
    assert!(sent.history.is_empty(), "nothing came before env");
    let mut t = record(60, 100);
    t.argv = vec!["true".into()];
    t.exec_time = WallTime(20);
    let t = j.exec(t);
    let argv: Vec<&str> = t.history.iter().map(|s| s.argv[0].as_str()).collect();
    assert_eq!(argv, ["env"]);
}

#[test]
fn a_chain_begun_from_a_proc_read_keeps_the_kernels_exact_start() {
    let mut j = Joiner::default();
    let mut seen = record(70, 100_000_000 - 4_000_000);
    seen.origin = Origin::Forked;
    j.replace(&[seen], 200_000_000);
    let mut env = record(70, 100_000_000);
    env.exec_time = WallTime(10);
    assert_eq!(j.exec(env).start_boot_ns, 100_000_000);
    let mut t = record(70, 100_000_000);
    t.exec_time = WallTime(20);
    assert_eq!(j.exec(t).history.len(), 1);
}

#[test]
fn a_proc_read_does_not_replace_an_exec_record() {
    let mut j = Joiner::default();
    j.exec(record(50, 100_000_000));
    // /proc saw it after its exec, with a tick-precise start
    let mut from_proc = record(50, 100_000_000 + 3_000_000);
    from_proc.origin = Origin::Forked;
    from_proc.ppid = 1;
    j.replace(&[from_proc], 200_000_000);
    let mut again = record(50, 100_000_000);
    again.exec_time = WallTime(9);
    let again = j.exec(again);
    assert_eq!(again.history.len(), 1, "the first image is kept");
    assert_eq!(again.start_boot_ns, 100_000_000);
}

#[test]
fn no_kernel_record_joins_a_later_user_record() {
    let mut j = Joiner::default();
    j.exec(record(5, 1_000));
    let e = j.exit(raw(5, 900, 2_000, false), &clock());
    assert_eq!(e.process.filename, "/bin/sleep");
}

#[test]
fn an_exec_that_names_a_parent_ended_just_before_gets_its_new_parent() {
    let mut j = Joiner::default();
    j.next_batch();
    // the parent 80 ended, its children went to 1; then an exec read on
    // another CPU before that end arrives, naming 80
    j.reparent(80, 1);
    let mut late = record(81, 500);
    late.ppid = 80;
    assert_eq!(j.exec(late).ppid, 1);
    // still in the next batch
    j.next_batch();
    let mut later = record(82, 600);
    later.ppid = 80;
    assert_eq!(j.exec(later).ppid, 1);
    // a live process now has the pid 80: its children are its own
    let mut reused = record(80, 700);
    reused.ppid = 1;
    j.exec(reused);
    let mut child = record(83, 800);
    child.ppid = 80;
    assert_eq!(j.exec(child).ppid, 80);
    // two batches on, the end is forgotten
    j.next_batch();
    j.next_batch();
    let mut old = record(84, 900);
    old.ppid = 99;
    j.reparent(99, 1);
    j.next_batch();
    j.next_batch();
    assert_eq!(j.exec(old).ppid, 99);
}
