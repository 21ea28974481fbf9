//! Dashboard frame cost with a long history: prints figures, asserts nothing.
//! Run with `make bench-ui`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::Terminal;

use tracer_tui::app::{App, AppConfig, Forest, HostInfo};
use tracer_tui::event::{CommandTotals, ExitInfo, ExitStatus, ProcessInfo, TraceEvent, WallTime};
use tracer_tui::source::{CommandUpdate, Message};
use tracer_tui::ui;

const T0: u64 = 1_700_000_000_000_000_000;

fn exit(i: u64) -> TraceEvent {
    let p = ProcessInfo {
        pid: (i % 4_000_000) as u32,
        ppid: 1,
        uid: 0,
        comm: format!("worker{}", i % 97),
        filename: "/usr/bin/worker".into(),
        argv: vec!["worker".into(), format!("--job={i}"), "--verbose".into()],
        start: WallTime(T0 + i * 1_000_000),
        exec_time: WallTime(T0 + i * 1_000_000),
        ..Default::default()
    };
    TraceEvent::Exit(ExitInfo {
        exit_comm: p.comm.clone(),
        end: WallTime(p.start.0 + (i * 7919) % 1_000_000_000),
        duration_ns: (i * 7919) % 1_000_000_000,
        status: ExitStatus(((i % 3) as u32) << 8),
        usage: None,
        process: p,
    })
}

struct Bench {
    app: App,
    terminal: Terminal<TestBackend>,
    next: u64,
}

impl Bench {
    fn new(rows: u64) -> Bench {
        let mut app = App::new(AppConfig {
            max_finished: rows as usize,
            min_duration: Duration::ZERO,
            filter_in_app: false,
            users: HashMap::from([(0, "root".into())]),
            host: HostInfo::default(),
        });
        let mut next = 0;
        while next < rows {
            let batch = (next..(next + 10_000).min(rows)).map(exit).collect();
            app.apply(Message::Events(batch));
            next = (next + 10_000).min(rows);
        }
        let terminal = Terminal::new(TestBackend::new(160, 45)).expect("test terminal");
        let mut b = Bench {
            app,
            terminal,
            next,
        };
        b.frame();
        b
    }

    fn frame(&mut self) {
        let vp = ui::viewport(Rect::new(0, 0, 160, 45), &self.app);
        self.app.prepare(&vp);
        let app = &self.app;
        self.terminal.draw(|f| ui::draw(f, app)).expect("draw");
    }

    fn arrive(&mut self, n: u64) {
        let batch = (self.next..self.next + n).map(exit).collect();
        self.next += n;
        self.app.apply(Message::Events(batch));
    }

    fn key(&mut self, c: char) {
        self.app
            .handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    }
}

fn time(label: &str, rows: u64, iterations: u32, mut f: impl FnMut()) {
    let started = Instant::now();
    for _ in 0..iterations {
        f();
    }
    let per = started.elapsed() / iterations;
    println!(
        "{rows:>9} rows  {label:<44} {:>9.3} ms",
        per.as_secs_f64() * 1e3
    );
}

/// A storm streamed into the App through the default 100k cap, with a frame
/// every 500 processes (about 30 frames/s at 15k processes/s): the cost per
/// event, and the frame time as the count of processes seen grows to 1M.
fn storm_through_the_cap() {
    let mut app = App::new(AppConfig {
        max_finished: 100_000,
        min_duration: Duration::ZERO,
        filter_in_app: false,
        users: HashMap::from([(0, "root".into())]),
        host: HostInfo::default(),
    });
    let mut terminal = Terminal::new(TestBackend::new(160, 45)).expect("test terminal");
    let pairs = 1_000_000u64;
    let mut in_app = Duration::ZERO;
    let mut frames = Duration::ZERO;
    let mut window = (Duration::ZERO, 0u32);
    for chunk in 0..pairs / 500 {
        let events = (chunk * 500..(chunk + 1) * 500)
            .flat_map(|i| {
                let TraceEvent::Exit(e) = exit(i) else {
                    unreachable!()
                };
                [TraceEvent::Exec(e.process.clone()), TraceEvent::Exit(e)]
            })
            .collect();
        let t = Instant::now();
        app.apply(Message::Events(events));
        in_app += t.elapsed();
        let t = Instant::now();
        let vp = ui::viewport(Rect::new(0, 0, 160, 45), &app);
        app.prepare(&vp);
        terminal.draw(|f| ui::draw(f, &app)).expect("draw");
        let frame = t.elapsed();
        frames += frame;
        window = (window.0 + frame, window.1 + 1);
        let seen = (chunk + 1) * 500;
        if [1_000, 10_000, 100_000, 1_000_000].contains(&seen) {
            let avg = window.0 / window.1;
            println!(
                "{seen:>9} processes seen ({:>6} rows)  frame incl. merge      {:>9.3} ms",
                app.finished_count(),
                avg.as_secs_f64() * 1e3
            );
            window = (Duration::ZERO, 0);
        }
    }
    let per = |d: Duration| d.as_secs_f64() * 1e6 / (2 * pairs) as f64;
    println!(
        "storm into the App: {:.2} us per event applied, {:.2} us per event in frames",
        per(in_app),
        per(frames)
    );
}

fn totals(i: u64, runs: u64) -> CommandTotals {
    let mut t = CommandTotals::new(format!("command{i:05}"));
    t.runs = runs;
    t.failed = runs / 10;
    t.cpu_ns = runs * (i * 7919 % 1_000_000);
    t.duration_ns = runs * 2_000_000;
    t.max_duration_ns = 5_000_000 + i;
    t.max_rss_kib = 1_000 + i % 5_000;
    t.durations[(i % 70) as usize] = runs;
    t
}

/// The Commands view with 10,000 distinct commands: frames with nothing
/// new, after a kernel read that changed 100 of them (a full sort), and
/// the process views' frames with and without the commands in the store.
fn commands_view() {
    let n = 10_000u64;
    let update = |round: u64, range: std::ops::Range<u64>| {
        Message::Commands(CommandUpdate {
            at: WallTime(T0 + round * 1_000_000_000),
            changed: range.map(|i| totals(i, 10 + round + i % 13)).collect(),
            restarted: 0,
            unseen: 0,
        })
    };
    let mut b = Bench::new(100_000);
    time("Finished frame, no commands known", n, 200, || b.frame());
    b.app.apply(update(1, 0..n));
    time("Finished frame, 10,000 commands known", n, 200, || {
        b.frame()
    });
    b.key('c');
    b.frame();
    time("Commands frame, nothing changed", n, 200, || b.frame());
    let mut round = 2;
    time(
        "Commands frame after a read of 100 (CPU sort)",
        n,
        100,
        || {
            b.app
                .apply(update(round, (round * 100) % n..(round * 100) % n + 100));
            round += 1;
            b.frame();
        },
    );
    for _ in 0..3 {
        b.key('>');
    }
    time(
        "Commands frame after a read of 100 (P50 sort)",
        n,
        100,
        || {
            b.app
                .apply(update(round, (round * 100) % n..(round * 100) % n + 100));
            round += 1;
            b.frame();
        },
    );
    time("Commands frame while searching (1 char)", n, 10, || {
        b.key('/');
        b.key('7');
        b.frame();
        b.app
            .handle_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    });
    b.app
        .handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    time("Commands frame with the detail pane", n, 100, || b.frame());
}

/// A process of the tree case: `pid` born to `ppid`, started `i` ms in.
fn tree_process(pid: u32, ppid: u32, comm: &str, i: u64) -> ProcessInfo {
    ProcessInfo {
        pid,
        ppid,
        uid: 0,
        comm: comm.into(),
        filename: format!("/usr/bin/{comm}"),
        argv: vec![comm.into(), format!("--job={i}")],
        start: WallTime(T0 + i * 1_000_000),
        exec_time: WallTime(T0 + i * 1_000_000),
        start_boot_ns: i * 1_000_000 + 1,
        ..Default::default()
    }
}

/// The tree view over 10,000 live and 10,000 finished processes: live
/// ones ten to a parent, each finished one under a live one, with runs of
/// a few command names (so groups form). The forest is built when the
/// store changed, not for frames without news.
fn tree_view() {
    let (live, finished) = (10_000u32, 10_000u32);
    let mut app = App::new(AppConfig {
        max_finished: finished as usize,
        min_duration: Duration::ZERO,
        filter_in_app: false,
        users: HashMap::from([(0, "root".into())]),
        host: HostInfo::default(),
    });
    let processes = (0..live)
        .map(|i| tree_process(2 + i, 1 + i / 10, "worker", u64::from(i)))
        .collect();
    app.apply(Message::Snapshot(processes));
    let names = ["cc1", "as", "ld", "sh", "true"];
    let ended = |j: u32| {
        let p = tree_process(
            100_000 + j,
            2 + j % live,
            names[(j / 7 % 5) as usize],
            u64::from(live + j),
        );
        TraceEvent::Exit(ExitInfo {
            exit_comm: p.comm.clone(),
            end: WallTime(p.start.0 + 1_000_000),
            duration_ns: 1_000_000,
            status: ExitStatus(u32::from(j.is_multiple_of(11)) << 8),
            usage: None,
            process: p,
        })
    };
    app.apply(Message::Events((0..finished).map(ended).collect()));
    let mut terminal = Terminal::new(TestBackend::new(160, 45)).expect("test terminal");
    let mut frame = |app: &mut App| {
        let vp = ui::viewport(Rect::new(0, 0, 160, 45), app);
        app.prepare(&vp);
        terminal.draw(|f| ui::draw(f, app)).expect("draw");
    };
    app.handle_key(KeyEvent::new(KeyCode::Char('t'), KeyModifiers::NONE));
    frame(&mut app);
    let rows = u64::from(live + finished);
    let now = WallTime(T0 + 60_000_000_000);
    time("tree: forest build alone", rows, 20, || {
        std::hint::black_box(Forest::build(&app.store, now));
    });
    time("tree: frame, nothing changed", rows, 200, || {
        frame(&mut app)
    });
    let mut next = finished;
    let mut clock = now;
    time("tree: frame after 100 new exits (build)", rows, 20, || {
        app.apply(Message::Events((next..next + 100).map(ended).collect()));
        next += 100;
        // a forest this big is built again once a second at most
        clock = WallTime(clock.0 + 1_000_000_000);
        app.tick(clock);
        frame(&mut app);
    });
    time(
        "tree: frame after 100 new exits, same second",
        rows,
        20,
        || {
            app.apply(Message::Events((next..next + 100).map(ended).collect()));
            next += 100;
            frame(&mut app);
        },
    );
    time(
        "tree: frame after → / ← (layout only)",
        rows,
        20,
        || {
            app.handle_key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE));
            app.handle_key(KeyEvent::new(KeyCode::Right, KeyModifiers::NONE));
            frame(&mut app);
        },
    );
    time("tree: frame while searching (1 char)", rows, 10, || {
        app.handle_key(KeyEvent::new(KeyCode::Char('/'), KeyModifiers::NONE));
        app.handle_key(KeyEvent::new(KeyCode::Char('9'), KeyModifiers::NONE));
        frame(&mut app);
        app.handle_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    });
    // a full finished list under the same live processes
    let mut big = App::new(AppConfig {
        max_finished: 100_000,
        min_duration: Duration::ZERO,
        filter_in_app: false,
        users: HashMap::from([(0, "root".into())]),
        host: HostInfo::default(),
    });
    big.apply(Message::Snapshot(
        (0..live)
            .map(|i| tree_process(2 + i, 1 + i / 10, "worker", u64::from(i)))
            .collect(),
    ));
    for chunk in 0..10 {
        big.apply(Message::Events(
            (chunk * 10_000..(chunk + 1) * 10_000).map(ended).collect(),
        ));
    }
    time(
        "tree: forest build alone, 100,000 finished",
        110_000,
        5,
        || {
            std::hint::black_box(Forest::build(&big.store, now));
        },
    );
    println!(
        "tree: {} lines laid out, {} groups, {} forest builds",
        app.tables.tree.lines.len(),
        app.tables.tree.forest.groups.len(),
        app.tables.tree.builds
    );
}

/// One process's exec and its exit in batches of their own, a frame after
/// each: how a busy host's processes arrive, living across frames.
fn exec_then_exit(b: &mut Bench) {
    let TraceEvent::Exit(e) = exit(b.next) else {
        unreachable!()
    };
    b.next += 1;
    b.app
        .apply(Message::Events(vec![TraceEvent::Exec(e.process.clone())]));
    b.frame();
    b.app.apply(Message::Events(vec![TraceEvent::Exit(e)]));
    b.frame();
}

/// 10,000 live processes (sleepers) while a busy host's few execs and
/// exits arrive: the idle dashboard's cost, frame by frame. `live` alone
/// (cargo bench --bench frame -- live) runs only this.
fn live_rows() {
    let n = 10_000u64;
    let sleeper = |i: u64| ProcessInfo {
        pid: 100_000 + i as u32,
        ppid: 1,
        comm: "sleep".into(),
        filename: "/bin/sleep".into(),
        argv: vec!["sleep".into(), "3600".into()],
        start: WallTime(T0 + i),
        exec_time: WallTime(T0 + i),
        ..Default::default()
    };
    let mut b = Bench::new(1_000);
    time("no live rows: frame, nothing changed", 0, 200, || b.frame());
    time(
        "no live rows: frame after 1 exec, then after its exit",
        0,
        200,
        || exec_then_exit(&mut b),
    );
    let snapshot: Vec<ProcessInfo> = (0..n).map(sleeper).collect();
    time("live rows: a reconcile's snapshot applied", n, 20, || {
        b.app.apply(Message::Snapshot(snapshot.clone()))
    });
    b.frame();
    time("live rows: frame, nothing changed", n, 200, || b.frame());
    time("live rows: frame after 1 exec + 1 exit", n, 200, || {
        let TraceEvent::Exit(e) = exit(b.next) else {
            unreachable!()
        };
        b.next += 1;
        b.app.apply(Message::Events(vec![
            TraceEvent::Exec(e.process.clone()),
            TraceEvent::Exit(e),
        ]));
        b.frame();
    });
    // a busy host's processes live across frames: the exec and the exit
    // come in different batches, and each changes the live table
    time(
        "live rows: frame after 1 exec, then after its exit",
        n,
        200,
        || exec_then_exit(&mut b),
    );
    time("live rows: frame after a snapshot", n, 20, || {
        b.app.apply(Message::Snapshot(snapshot.clone()));
        b.frame();
    });
}

fn main() {
    // `cargo bench --bench frame -- tree` (or `live`) runs only that case
    if std::env::args().any(|a| a == "tree") {
        return tree_view();
    }
    if std::env::args().any(|a| a == "live") {
        return live_rows();
    }
    tree_view();
    live_rows();
    commands_view();
    storm_through_the_cap();
    for rows in [1_000u64, 100_000, 1_000_000] {
        let mut b = Bench::new(rows);
        time("frame, nothing changed", rows, 200, || b.frame());
        time("frame after 100 new exits (END sort)", rows, 100, || {
            b.arrive(100);
            b.frame();
        });
        b.key('>');
        b.key('>');
        b.key('>');
        b.key('>');
        b.key('>');
        b.frame();
        time(
            "frame after 100 new exits (DURATION sort)",
            rows,
            100,
            || {
                b.arrive(100);
                b.frame();
            },
        );
        time("frame after a sort change (full sort)", rows, 10, || {
            b.key('r');
            b.frame();
        });
        time("frame while searching (typing 1 char)", rows, 10, || {
            b.key('/');
            b.key('9');
            b.frame();
            b.app
                .handle_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
        });
    }
}
