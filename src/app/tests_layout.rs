//! Unit tests of what the dashboard shows: the min duration as a filter
//! over rows, the process's name, failed execs, the detail pane's scroll
//! and the counts that size the tables.

use super::fixtures::*;
use super::*;
use crate::event::{ExecStep, FailedExec};
#[allow(unused_imports)]
use crate::event::{ExitInfo, ProcessInfo};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn key(app: &mut App, code: KeyCode) -> Action {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn viewport(detail_lines: u16, detail_height: u16) -> Viewport {
    let area = |y: u16, n: usize| TableArea {
        header: Rect::new(0, y, 100, 1),
        body: Rect::new(0, y + 1, 100, 10),
        columns: (0..n as u16).map(|i| (i * 10, 9)).collect(),
    };
    Viewport {
        tables: vec![
            (ViewId::Live, area(0, LiveColumn::ALL.len())),
            (ViewId::Finished, area(20, FinishedColumn::ALL.len())),
        ],
        detail_lines,
        detail_height,
    }
}

fn finished_pids(app: &mut App) -> Vec<u32> {
    app.prepare(&viewport(0, 0));
    let mut pids: Vec<u32> = app
        .tables
        .finished
        .view
        .order
        .iter()
        .filter_map(|&s| app.finished_row(s).map(|r| r.exit.process.pid))
        .collect();
    pids.sort_unstable();
    pids
}

/// Exits of 5 ms, 50 ms and 500 ms, ending at T0 + 10 s.
fn three_exits() -> Message {
    Message::Events(
        [(1, 5), (2, 50), (3, 500)]
            .into_iter()
            .map(|(pid, ms)| TraceEvent::Exit(exit(process(pid, "p", 10), ms, 0)))
            .collect(),
    )
}

#[test]
fn raising_the_min_duration_hides_listed_rows_and_lowering_shows_them() {
    let mut app = App::new(config());
    app.tick(WallTime(T0 + 20 * SEC));
    app.apply(three_exits());
    assert_eq!(finished_pids(&mut app), [1, 2, 3]);
    // `+` asks the kernel; the rows change when it confirms
    assert_eq!(
        key(&mut app, KeyCode::Char('+')),
        Action::SetMinDuration(Duration::from_millis(1))
    );
    app.apply(Message::MinDuration(Duration::from_millis(100)));
    assert_eq!(finished_pids(&mut app), [3]);
    assert_eq!(app.finished_count(), 3, "hidden rows are kept");
    assert_eq!(app.finished_complete_since(), None);
    // lowering shows them again, and says from when lower values are complete
    app.tick(WallTime(T0 + 30 * SEC));
    app.apply(Message::MinDuration(Duration::from_millis(10)));
    assert_eq!(finished_pids(&mut app), [2, 3]);
    assert_eq!(app.finished_complete_since(), Some(WallTime(T0 + 30 * SEC)));
    app.apply(Message::MinDuration(Duration::ZERO));
    assert_eq!(finished_pids(&mut app), [1, 2, 3]);
    assert_eq!(app.finished_complete_since(), Some(WallTime(T0 + 30 * SEC)));
}

#[test]
fn replay_min_duration_applies_to_every_row_loaded() {
    let mut app = App::new(AppConfig {
        filter_in_app: true,
        ..config()
    });
    app.apply(three_exits());
    for _ in 0..3 {
        assert_eq!(key(&mut app, KeyCode::Char('+')), Action::None);
    }
    assert_eq!(app.min_duration, Duration::from_millis(100));
    assert_eq!(finished_pids(&mut app), [3]);
    key(&mut app, KeyCode::Char('-'));
    key(&mut app, KeyCode::Char('-'));
    assert_eq!(app.min_duration, Duration::from_millis(1));
    // rows filtered before come back: a replay has every row
    assert_eq!(finished_pids(&mut app), [1, 2, 3]);
    assert_eq!(app.finished_complete_since(), None);
}

#[test]
fn comm_is_the_process_name_not_the_exiting_thread() {
    let mut app = App::new(config());
    let prog = process(100, "prog", 1);
    let mut e = exit(prog, 10, 0);
    e.exit_comm = "zzworker".into();
    app.apply(Message::Events(vec![TraceEvent::Exit(e)]));
    assert_eq!(app.parent_chain(100)[0], (100, "prog".to_string()));
    // sorting by COMM sorts by the process's name
    let mut other = exit(process(101, "mmm", 1), 10, 0);
    other.exit_comm = "zzz".into();
    app.apply(Message::Events(vec![TraceEvent::Exit(other)]));
    let (a, b) = (
        app.finished_row(0).expect("first row"),
        app.finished_row(1).expect("second row"),
    );
    assert_eq!(
        FinishedColumn::Comm.compare(b, a),
        std::cmp::Ordering::Less,
        "mmm sorts before prog"
    );
}

fn failure(pid: u32, start_s: u64, path: &str, at_ms: u64) -> FailedExec {
    FailedExec {
        pid,
        ppid: 1,
        comm: "sh".into(),
        filename: path.into(),
        argv: vec!["nosuchcmd".into()],
        errno: 2,
        time: WallTime(T0 + start_s * SEC + at_ms * 1_000_000),
        start: WallTime(T0 + start_s * SEC),
        start_boot_ns: start_s * SEC + 1,
        ..Default::default()
    }
}

#[test]
fn a_failed_last_exec_shows_in_the_command_cell() {
    let mut app = App::new(config());
    let mut sh = process(300, "sh", 5);
    sh.argv = vec!["sh".into(), "-c".into(), "nosuchcmd".into()];
    app.apply(Message::Events(vec![
        TraceEvent::Exec(sh.clone()),
        TraceEvent::ExecFailed(failure(300, 5, "/usr/local/bin/nosuchcmd", 1)),
        TraceEvent::ExecFailed(failure(300, 5, "/usr/bin/nosuchcmd", 2)),
    ]));
    // the exit comes without the history: the live row had it
    app.apply(Message::Events(vec![TraceEvent::Exit(exit(
        sh,
        3,
        127 << 8,
    ))]));
    let row = app.finished_row(0).expect("finished row");
    assert_eq!(row.command, "ENOENT nosuchcmd");
    assert_eq!(row.exit.status.label(), "127");
    let step = row.exit.process.last_failure().expect("the failure");
    assert_eq!(step.tried, ["/usr/local/bin/nosuchcmd"]);
    assert_eq!(step.attempts, 2);

    // a failure before a successful exec is not the command
    let mut ok = process(301, "true", 6);
    ok.history = vec![ExecStep {
        time: WallTime(T0 + 6 * SEC - 1),
        filename: "/usr/local/bin/true".into(),
        errno: Some(2),
        attempts: 1,
        ..Default::default()
    }];
    app.apply(Message::Events(vec![TraceEvent::Exit(exit(ok, 3, 0))]));
    assert_eq!(
        app.finished_row(1).expect("second row").command,
        "true --arg301"
    );
}

#[test]
fn the_detail_pane_scrolls_while_it_has_the_keys() {
    let mut app = App::new(config());
    app.apply(Message::Events(
        (1..=5)
            .map(|pid| TraceEvent::Exit(exit(process(pid, "p", pid as u64), 10, 0)))
            .collect(),
    ));
    let vp = viewport(30, 8);
    app.prepare(&vp);
    let first = app.tables.finished.view.selected_key();
    key(&mut app, KeyCode::Enter);
    assert!(app.detail && app.detail_focus);
    app.prepare(&vp);
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Down);
    app.prepare(&vp);
    assert_eq!(app.detail_scroll, 2);
    assert_eq!(
        app.tables.finished.view.selected_key(),
        first,
        "the table kept still"
    );
    key(&mut app, KeyCode::PageDown);
    assert_eq!(app.detail_scroll, 9);
    key(&mut app, KeyCode::End);
    assert_eq!(app.detail_scroll, 22, "no further than the last line");
    key(&mut app, KeyCode::PageUp);
    assert_eq!(app.detail_scroll, 15);
    key(&mut app, KeyCode::Up);
    assert_eq!(app.detail_scroll, 14);
    // Tab gives the keys back to the views (the next one: Commands, then
    // Live); another row starts at the top
    key(&mut app, KeyCode::Tab);
    assert!(!app.detail_focus);
    assert_eq!(app.view, ViewId::Commands);
    key(&mut app, KeyCode::Tab);
    assert!(app.detail_focus, "the pane comes after Commands too");
    key(&mut app, KeyCode::Tab);
    assert!(!app.detail_focus);
    assert_eq!(app.view, ViewId::Live);
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.view, ViewId::Finished);
    key(&mut app, KeyCode::Down);
    app.prepare(&vp);
    assert_ne!(app.tables.finished.view.selected_key(), first);
    assert_eq!(app.detail_scroll, 0);
    // and Tab from the finished table goes to the open pane
    key(&mut app, KeyCode::Tab);
    assert!(app.detail_focus);
    key(&mut app, KeyCode::Down);
    assert_eq!(app.detail_scroll, 1);
    // closed, the pane has no keys
    key(&mut app, KeyCode::Enter);
    assert!(!app.detail && !app.detail_focus);
}

#[test]
fn shown_counts_are_known_before_prepare() {
    let mut app = App::new(config());
    app.apply(Message::Snapshot(vec![
        process(1, "init", 0),
        process(2, "kthreadd", 0),
    ]));
    assert_eq!(app.shown_bound(ViewId::Live), 2);
    app.apply(three_exits());
    assert!(app.shown_bound(ViewId::Finished) >= 3);
    app.prepare(&viewport(0, 0));
    assert_eq!(
        (
            app.shown_bound(ViewId::Live),
            app.shown_bound(ViewId::Finished)
        ),
        (2, 3)
    );
}

#[test]
fn a_finished_row_and_its_detail_show_the_same_process() {
    let mut app = App::new(config());
    let mut forked = process(60, "sh", 5);
    forked.origin = crate::event::Origin::Forked;
    forked.argv = vec!["sh".into(), "-c".into(), "make all".into()];
    app.apply(Message::Snapshot(vec![forked.clone()]));
    // the exit alone: no exec record was known in the source
    let bare = ProcessInfo {
        argv: Vec::new(),
        filename: String::new(),
        origin: crate::event::Origin::ExitOnly,
        ..forked
    };
    app.apply(Message::Events(vec![TraceEvent::Exit(exit(bare, 10, 0))]));
    let row = app.finished_row(0).expect("a finished row");
    assert_eq!(row.command, "sh -c make all");
    assert_eq!(row.command, row.exit.process.command_line());
    assert_eq!(row.exit.process.comm, "sh");
}
