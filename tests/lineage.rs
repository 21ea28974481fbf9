//! Real BPF: the live table kept by events alone. Forks seen at birth with
//! their true start and their parent's command line, threads left out,
//! reparenting to init and to a subreaper, a stalled reader, and ends the
//! min-duration filter keeps back. Needs root.

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::tracing::Tracing;
use tracer_tui::backlog::Backlog;
use tracer_tui::event::Origin;

/// Long enough that no reconcile happens during a test: what the live
/// table shows then came from events alone.
const NO_RECONCILE: Duration = Duration::from_secs(3600);

fn boot_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec to write into.
    unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Forks this process; the child sleeps `ms` and exits without exec'ing.
/// Returns the child's pid and the boot times just before and after fork.
fn fork_sleeper(ms: u64) -> (u32, u64, u64) {
    let before = boot_ns();
    // SAFETY: the child calls only async-signal-safe functions (nanosleep,
    // _exit) before it ends, as a child of a threaded process must.
    let pid = unsafe { libc::fork() };
    let after = boot_ns();
    if pid == 0 {
        let ts = libc::timespec {
            tv_sec: (ms / 1000) as libc::time_t,
            tv_nsec: ((ms % 1000) * 1_000_000) as libc::c_long,
        };
        // SAFETY: as above.
        unsafe {
            libc::nanosleep(&ts, std::ptr::null_mut());
            libc::_exit(0);
        }
    }
    assert!(pid > 0, "fork failed");
    (pid as u32, before, after)
}

fn reap(pid: u32) {
    let mut status = 0;
    // SAFETY: waits for a child this test forked.
    unsafe { libc::waitpid(pid as i32, &mut status, 0) };
}

fn kill(pid: u32) {
    // SAFETY: a pid this test started, and a valid signal.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
}

fn parent_in_proc(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn a_child_that_never_execs_is_live_from_its_fork() {
    let Some(_serial) = common::bpf_test("a_child_that_never_execs_is_live_from_its_fork") else {
        return;
    };
    let mut t = Tracing::start_live(Duration::ZERO, |c| c.snapshot_every = NO_RECONCILE);
    // the two clock reads bound the fork to within 1 ms only when this
    // thread is not preempted between them: on a loaded host, fork again
    let (child, before, after) = (0..20)
        .map(|_| fork_sleeper(400))
        .find(|&(pid, before, after)| {
            let tight = after - before < 1_000_000;
            if !tight {
                kill(pid);
                reap(pid);
            }
            tight
        })
        .expect("no fork within 1 ms in 20 tries");
    let seen = Instant::now();
    assert!(
        t.until(Duration::from_secs(1), |t| t.live(child).is_some()),
        "no live row for the forked child {child}"
    );
    eprintln!("forked child live after {:?}", seen.elapsed());
    let row = t.live(child).expect("live");
    assert_eq!(
        t.snapshots.len(),
        1,
        "a reconcile ran: the test proves nothing"
    );
    assert_eq!(row.origin, Origin::Forked);
    assert_eq!(row.ppid, std::process::id());
    // its start is the kernel's, exact: between the two clock reads around fork
    assert!(
        (before..=after).contains(&row.start_boot_ns),
        "start {} not within the fork's [{before}, {after}]",
        row.start_boot_ns
    );
    // the parent's command line, as ps shows it for a child that has not exec'd
    let ours: Vec<String> = std::env::args().collect();
    assert_eq!(row.argv, ours);
    assert!(!row.filename.is_empty(), "the parent's filename");
    reap(child);
    assert!(
        t.until(Duration::from_secs(2), |t| t.live(child).is_none()),
        "the forked child's row outlived it"
    );
    let e = t.exit_of(child);
    assert_eq!(
        e.process.argv, ours,
        "the exit carries the fork's command line"
    );
    assert!(
        e.process.history.is_empty(),
        "no exec: {:?}",
        e.process.history
    );
}

#[test]
fn threads_are_not_processes() {
    let Some(_serial) = common::bpf_test("threads_are_not_processes") else {
        return;
    };
    let mut t = Tracing::start_live(Duration::ZERO, |c| c.snapshot_every = NO_RECONCILE);
    let me = std::process::id();
    let mut tids = HashSet::new();
    for _ in 0..10 {
        let handles: Vec<_> = (0..100)
            .map(|_| {
                std::thread::spawn(|| {
                    // SAFETY: gettid has no preconditions.
                    unsafe { libc::gettid() as u32 }
                })
            })
            .collect();
        tids.extend(handles.into_iter().map(|h| h.join().expect("thread")));
    }
    assert_eq!(tids.len(), 1000);
    // a process forked after them: once its fork is in, theirs would be too
    // (it lives past a drain, so its fork event is passed on: one its
    // end follows in the same batch is not)
    let (marker, _, _) = fork_sleeper(300);
    assert!(t.until(Duration::from_secs(2), |t| t.forks.contains_key(&marker)));
    reap(marker);
    let forked: Vec<u32> = t
        .forks
        .values()
        .filter(|p| p.ppid == me && p.pid != marker)
        .map(|p| p.pid)
        .collect();
    assert!(forked.is_empty(), "fork events for threads: {forked:?}");
    // a thread's fork, taken for a process, would be reported under its
    // thread group's id: this process's own
    assert!(
        !t.forks.contains_key(&me),
        "a fork event for this process: {:?}",
        t.forks.get(&me)
    );
    assert!(t.forks.keys().all(|p| !tids.contains(p)));
    let rows: Vec<u32> = tids
        .iter()
        .copied()
        .filter(|&tid| t.live(tid).is_some())
        .collect();
    assert!(rows.is_empty(), "live rows for threads: {rows:?}");
}

/// Runs `sh -c 'sleep 600 & echo $!'` so the sleeper outlives its shell,
/// from `cmd`; returns the sleeper's pid once the shell has ended.
fn orphan_sleeper(cmd: &mut Command) -> (Child, u32) {
    let mut outer = cmd.stdout(Stdio::piped()).spawn().expect("spawn");
    let mut line = String::new();
    BufReader::new(outer.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read the sleeper's pid");
    let sleeper = line.trim().parse().expect("pid");
    (outer, sleeper)
}

#[test]
fn an_orphan_gets_init_or_its_subreaper_as_parent_within_a_second() {
    let Some(_serial) =
        common::bpf_test("an_orphan_gets_init_or_its_subreaper_as_parent_within_a_second")
    else {
        return;
    };
    let mut t = Tracing::start_live(Duration::ZERO, |c| c.snapshot_every = NO_RECONCILE);

    // no subreaper between this test and init (unless the host has one):
    // the kernel's choice, read from /proc, is the truth
    let mut plain = Command::new("sh");
    plain.args(["-c", "sh -c 'sleep 601 >/dev/null 2>&1 & echo $!'"]);
    let (mut shell, sleeper) = orphan_sleeper(&mut plain);
    shell.wait().expect("wait");
    let truth = parent_in_proc(sleeper).expect("the sleeper is alive");
    let ended = Instant::now();
    let ok = t.until(Duration::from_secs(1), |t| {
        t.live(sleeper).is_some_and(|p| p.ppid == truth)
    });
    kill(sleeper);
    assert!(
        ok,
        "parent {:?}, /proc says {truth}",
        t.live(sleeper).map(|p| p.ppid)
    );
    eprintln!(
        "orphan's new parent {truth} shown {:?} after its shell ended",
        ended.elapsed()
    );

    // a subreaper: the outer shell, marked before its exec (the mark
    // survives exec), receives the orphan of the inner shell
    let mut marked = Command::new("sh");
    marked.args([
        "-c",
        "sh -c 'sleep 602 >/dev/null 2>&1 & echo $!'; exec sleep 5",
    ]);
    // SAFETY: prctl is async-signal-safe; nothing else runs in the child.
    unsafe {
        marked.pre_exec(|| {
            if libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let (mut reaper, sleeper) = orphan_sleeper(&mut marked);
    let reaper_pid = reaper.id();
    let seen = Instant::now();
    let ok = t.until(Duration::from_secs(2), |t| {
        t.live(sleeper).is_some_and(|p| p.ppid == reaper_pid)
    });
    let truth = parent_in_proc(sleeper);
    kill(sleeper);
    let _ = reaper.kill();
    let _ = reaper.wait();
    assert_eq!(
        truth,
        Some(reaper_pid),
        "/proc: the subreaper is the parent"
    );
    assert!(
        ok,
        "parent {:?}, the subreaper is {reaper_pid}",
        t.live(sleeper).map(|p| p.ppid)
    );
    assert!(
        t.reparents.iter().any(|&(_, r)| r == reaper_pid),
        "no reparenting to the subreaper in {:?}",
        t.reparents
    );
    eprintln!(
        "subreaper {reaper_pid} shown as parent after {:?}",
        seen.elapsed()
    );
}

#[test]
fn the_live_table_stays_right_across_a_stalled_reader() {
    let Some(_serial) = common::bpf_test("the_live_table_stays_right_across_a_stalled_reader")
    else {
        return;
    };
    // a small bound, so the backend stops reading the kernel while we stall
    let mut t = Tracing::start_live(Duration::ZERO, |c| {
        c.snapshot_every = NO_RECONCILE;
        c.backlog = Some(Backlog::new(16));
    });
    let stall = Instant::now();
    let mut alive: Vec<Child> = (0..20)
        .map(|_| Command::new("sleep").arg("30").spawn().expect("spawn"))
        .collect();
    let mut ended: Vec<u32> = Vec::new();
    for mut c in alive.drain(10..) {
        c.kill().expect("kill");
        c.wait().expect("wait");
        ended.push(c.id());
    }
    for _ in 0..10 {
        let (pid, _, _) = fork_sleeper(1);
        reap(pid);
        ended.push(pid);
        ended.push(common::tracing::run("true", &[]));
    }
    let forked_alive: Vec<u32> = (0..5).map(|_| fork_sleeper(5_000).0).collect();
    std::thread::sleep(Duration::from_secs(1).saturating_sub(stall.elapsed()));
    assert!(
        t.backlog.as_ref().is_some_and(Backlog::full),
        "the backend did not stall: the test proves nothing"
    );

    let live: Vec<u32> = alive
        .iter()
        .map(Child::id)
        .chain(forked_alive.iter().copied())
        .collect();
    let right = t.until(Duration::from_secs(3), |t| {
        live.iter().all(|&p| t.live(p).is_some()) && ended.iter().all(|&p| t.live(p).is_none())
    });
    let missing: Vec<u32> = live
        .iter()
        .copied()
        .filter(|&p| t.live(p).is_none())
        .collect();
    let ghosts: Vec<u32> = ended
        .iter()
        .copied()
        .filter(|&p| t.live(p).is_some())
        .collect();
    for mut c in alive {
        let _ = c.kill();
        let _ = c.wait();
    }
    for pid in forked_alive {
        kill(pid);
        reap(pid);
    }
    assert!(
        right,
        "missing live rows {missing:?}, ghost rows {ghosts:?}"
    );
    assert_eq!(t.drops.total(), 0, "events were lost: {:?}", t.drops);
}

#[test]
fn filtered_exits_end_live_rows_without_a_reconcile() {
    let Some(_serial) = common::bpf_test("filtered_exits_end_live_rows_without_a_reconcile") else {
        return;
    };
    let mut t = Tracing::start_live(Duration::from_secs(2), |c| c.snapshot_every = NO_RECONCILE);
    // long enough to be seen live (past a drain, so their fork events are
    // passed on), too short for the finished list
    let children: Vec<u32> = (0..10).map(|_| fork_sleeper(300).0).collect();
    let sleepers: Vec<Child> = (0..5)
        .map(|_| Command::new("sleep").arg("0.3").spawn().expect("spawn"))
        .collect();
    let execs: Vec<u32> = sleepers.iter().map(Child::id).collect();
    assert!(
        t.until(Duration::from_secs(1), |t| children
            .iter()
            .all(|p| t.forks.contains_key(p))),
        "fork events missing"
    );
    for &pid in &children {
        reap(pid);
    }
    common::reap(sleepers);
    let all: Vec<u32> = children.iter().chain(&execs).copied().collect();
    let gone = t.until(Duration::from_secs(1), |t| {
        all.iter()
            .all(|&p| t.live(p).is_none() && t.gone.contains(&p))
    });
    assert!(
        gone,
        "still live: {:?}; not reported gone: {:?}",
        all.iter()
            .filter(|&&p| t.live(p).is_some())
            .collect::<Vec<_>>(),
        all.iter()
            .filter(|p| !t.gone.contains(p))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        t.snapshots.len(),
        1,
        "a reconcile ran: the test proves nothing"
    );
    assert!(
        all.iter().all(|p| !t.exits.contains_key(p)),
        "an exit passed the filter"
    );
    // they had no children: their ends name no new parent
    let childless: Vec<&(u32, u32)> = t
        .reparents
        .iter()
        .filter(|(p, _)| all.contains(p))
        .collect();
    assert!(
        childless.is_empty(),
        "reparentings for childless processes: {childless:?}"
    );
}

/// A zombie at start has ended already, and its reaping sends no event: it
/// is not seeded, or its row would stay on the live table for good.
#[test]
fn a_zombie_from_before_tracing_is_not_live() {
    let Some(_serial) = common::bpf_test("a_zombie_from_before_tracing_is_not_live") else {
        return;
    };
    let mut zombie = Command::new("/bin/true").spawn().expect("spawn true");
    let pid = zombie.id();
    let stat = || std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !stat().contains(") Z ") {
        assert!(Instant::now() < deadline, "{pid} never became a zombie");
        std::thread::sleep(Duration::from_millis(5));
    }
    // a live process of ours from before, to show the seed ran
    let mut sleeper = Command::new("sleep").arg("5").spawn().expect("spawn sleep");
    let mut t = Tracing::start_live(Duration::ZERO, |c| c.snapshot_every = NO_RECONCILE);
    assert!(
        t.until(Duration::from_secs(2), |t| t.live(sleeper.id()).is_some()),
        "the sleeper is not live"
    );
    assert!(
        t.live(pid).is_none(),
        "the zombie {pid} is on the live table"
    );
    let _ = zombie.wait();
    let _ = sleeper.kill();
    let _ = sleeper.wait();
}
