//! Unit tests of the dashboard state: events, keys and mouse in, state and
//! actions out.

use super::*;
#[allow(unused_imports)]
use crate::event::{ExitInfo, ProcessInfo};
use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

use super::fixtures::*;

pub(super) fn events(list: Vec<TraceEvent>) -> Message {
    Message::Events(list)
}

pub(super) fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

pub(super) fn chars(app: &mut App, text: &str) {
    for c in text.chars() {
        app.handle_key(key(KeyCode::Char(c)));
    }
}

pub(super) fn viewport() -> Viewport {
    let area = |y: u16, h: u16, n: usize| TableArea {
        header: Rect::new(0, y, 100, 1),
        body: Rect::new(0, y + 1, 100, h),
        columns: (0..n as u16).map(|i| (i * 10, 9)).collect(),
    };
    Viewport {
        tables: vec![
            (ViewId::Live, area(0, 10, LiveColumn::ALL.len())),
            (ViewId::Finished, area(20, 10, FinishedColumn::ALL.len())),
        ],
        ..Default::default()
    }
}

pub(super) fn prepared(mut app: App) -> App {
    app.prepare(&viewport());
    app
}

pub(super) fn finished_pids(app: &mut App) -> Vec<u32> {
    app.prepare(&viewport());
    app.tables
        .finished
        .view
        .order
        .iter()
        .map(|&s| app.finished_row(s).map(|r| r.exit.process.pid).unwrap_or(0))
        .collect()
}

pub(super) fn live_pids(app: &mut App) -> Vec<u32> {
    app.prepare(&viewport());
    app.tables.live.view.order.clone()
}

#[test]
fn exec_then_exit_moves_a_process_from_live_to_finished() {
    let mut app = App::new(config());
    let p = process(10, "make", 1);
    app.apply(events(vec![TraceEvent::Exec(p.clone())]));
    assert_eq!(live_pids(&mut app), [10]);
    assert_eq!(app.live_row(10).map(|r| &*r.user), Some("alice"));
    app.apply(events(vec![TraceEvent::Exit(exit(p, 5, 2 << 8))]));
    assert!(live_pids(&mut app).is_empty());
    assert_eq!(finished_pids(&mut app), [10]);
    assert_eq!((app.execs_seen, app.exits_seen), (1, 1));
}

#[test]
fn a_process_that_begins_and_ends_in_one_batch_needs_no_live_row() {
    let mut app = prepared(App::new(config()));
    let p = process(10, "make", 1);
    app.apply(events(vec![
        TraceEvent::Exec(p.clone()),
        TraceEvent::Exit(exit(p, 5, 0)),
    ]));
    assert_eq!(
        app.tables.live.stale(),
        table::Stale::No,
        "the live table was touched"
    );
    assert_eq!(finished_pids(&mut app), [10]);
    assert_eq!(
        app.finished_row(0).map(|r| r.command.as_str()),
        Some("make --arg10")
    );
    assert_eq!((app.execs_seen, app.exits_seen), (1, 1));
}

#[test]
fn a_re_exec_that_ends_in_the_batch_leaves_no_ghost() {
    let mut app = App::new(config());
    let first = process(10, "sh", 1);
    app.apply(events(vec![TraceEvent::Exec(first)]));
    let second = ProcessInfo {
        start_boot_ns: 2 * SEC,
        ..process(10, "make", 2)
    };
    app.apply(events(vec![
        TraceEvent::Exec(second.clone()),
        TraceEvent::Exit(exit(second, 5, 0)),
    ]));
    assert!(live_pids(&mut app).is_empty());
}

#[test]
fn replayed_processes_are_told_apart_by_start_time() {
    let mut app = App::new(AppConfig {
        filter_in_app: true,
        ..config()
    });
    let old = ProcessInfo {
        start_boot_ns: 0,
        ..process(10, "old", 1)
    };
    let new = ProcessInfo {
        start_boot_ns: 0,
        ..process(10, "new", 2)
    };
    app.apply(events(vec![TraceEvent::Exec(new)]));
    app.apply(events(vec![TraceEvent::Exit(exit(old, 5, 0))]));
    assert_eq!(
        live_pids(&mut app),
        [10],
        "an old process's exit removed the new one"
    );
}

#[test]
fn pause_releases_past_its_cap_and_passes_status_through() {
    let mut app = App::new(AppConfig {
        max_finished: 3,
        ..config()
    });
    app.handle_key(key(KeyCode::Char(' ')));
    app.apply(Message::MinDuration(Duration::from_millis(5)));
    app.apply(Message::Failed("gone".into()));
    app.tick(WallTime(T0 + 9 * SEC));
    assert_eq!(
        app.min_duration,
        Duration::from_millis(5),
        "the filter's state waits for no pause"
    );
    assert_eq!(app.failure.as_deref(), Some("gone"));
    let exits = |from: u32| {
        (from..from + 4)
            .map(|i| TraceEvent::Exit(exit(process(i, "x", 1), 1, 0)))
            .collect()
    };
    app.apply(events(exits(0)));
    assert_eq!(app.held_events, 4);
    assert_eq!(app.finished_count(), 0);
    // past twice the finished list's cap, what is held is shown after all
    app.apply(events(exits(10)));
    assert_eq!(app.held_events, 0);
    assert_eq!(app.finished_count(), 3);
    assert!(app.paused());
}

#[test]
fn pid_reuse_does_not_remove_the_new_process() {
    let mut app = App::new(config());
    let old = process(10, "old", 1);
    let new = process(10, "new", 2);
    app.apply(events(vec![TraceEvent::Exec(new)]));
    app.apply(events(vec![TraceEvent::Exit(exit(old, 5, 0))]));
    assert_eq!(live_pids(&mut app), [10]);
    assert_eq!(app.live_row(10).map(|r| r.info.comm.as_str()), Some("new"));
}

#[test]
fn snapshot_rebuilds_the_live_table() {
    let mut app = App::new(config());
    app.apply(events(vec![TraceEvent::Exec(process(5, "ghost", 1))]));
    app.apply(Message::Snapshot(vec![
        process(6, "init", 0),
        process(7, "sshd", 0),
    ]));
    assert_eq!(live_pids(&mut app), [6, 7]);
    // the first snapshot is not news; later arrivals are
    assert_eq!(app.live_row(6).map(|r| r.first_seen), Some(WallTime(0)));
    app.tick(WallTime(T0 + 50 * SEC));
    app.apply(Message::Snapshot(vec![
        process(6, "init", 0),
        process(8, "new", 40),
    ]));
    assert_eq!(app.live_row(6).map(|r| r.first_seen), Some(WallTime(0)));
    assert_eq!(
        app.live_row(8).map(|r| r.first_seen),
        Some(WallTime(T0 + 50 * SEC))
    );
}

#[test]
fn finished_list_is_bounded_and_counts_evictions() {
    let mut app = App::new(AppConfig {
        max_finished: 3,
        ..config()
    });
    let exits = (1..=5)
        .map(|i| TraceEvent::Exit(exit(process(i, "x", i as u64), 1, 0)))
        .collect();
    app.apply(events(exits));
    assert_eq!(app.finished_count(), 3);
    assert_eq!(app.evicted(), 2);
    assert_eq!(finished_pids(&mut app), [5, 4, 3], "newest first");
}

#[test]
fn search_filters_both_tables_by_comm_filename_and_argv() {
    let mut app = sample_app();
    app.apply(events(vec![TraceEvent::Exec(process(40, "vim", 4))]));
    app.handle_key(key(KeyCode::Char('/')));
    chars(&mut app, "AWK");
    assert_eq!(finished_pids(&mut app), [20, 10]);
    assert!(live_pids(&mut app).is_empty());
    // argv
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(app.search, "");
    assert_eq!(finished_pids(&mut app).len(), 3);
    app.handle_key(key(KeyCode::Char('/')));
    chars(&mut app, "--arg40");
    assert_eq!(live_pids(&mut app), [40]);
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(app.search, "--arg40");
    // filename, and backspace widens again
    app.handle_key(key(KeyCode::Char('/')));
    for _ in 0.."--arg40".len() {
        app.handle_key(key(KeyCode::Backspace));
    }
    chars(&mut app, "/usr/bin/bash");
    assert_eq!(finished_pids(&mut app), [30]);
    // rows arriving later are filtered too
    app.apply(events(vec![TraceEvent::Exit(exit(
        process(50, "bash", 9),
        1,
        0,
    ))]));
    assert_eq!(finished_pids(&mut app), [50, 30]);
}

#[test]
fn pause_holds_events_and_counts_them() {
    let mut app = sample_app();
    app.handle_key(key(KeyCode::Char(' ')));
    assert!(app.paused());
    app.apply(events(vec![TraceEvent::Exit(exit(
        process(60, "late", 9),
        1,
        0,
    ))]));
    app.apply(events(vec![TraceEvent::Exec(process(61, "later", 9))]));
    assert_eq!(app.held_events, 2);
    // snapshots held while paused do not pile up
    for pid in 0..50 {
        app.apply(Message::Snapshot(vec![process(pid, "s", 1)]));
    }
    let snapshots = app.held.as_ref().map_or(0, |h| {
        h.iter()
            .filter(|m| matches!(m, Message::Snapshot(_)))
            .count()
    });
    assert_eq!(snapshots, 1);
    assert_eq!(finished_pids(&mut app).len(), 3);
    app.handle_key(key(KeyCode::Char(' ')));
    assert!(!app.paused());
    assert_eq!(app.held_events, 0);
    assert_eq!(finished_pids(&mut app)[0], 60);
    // the newest snapshot (pid 49), then what came after it
    assert_eq!(live_pids(&mut app), [49]);
}

#[test]
fn min_duration_prompt_accepts_valid_and_rejects_invalid_input() {
    let mut app = App::new(config());
    assert_eq!(app.handle_key(key(KeyCode::Char('d'))), Action::None);
    let Mode::Prompt(p) = &app.mode else {
        panic!("no prompt")
    };
    assert_eq!((p.kind, p.text()), (PromptKind::MinDuration, "0"));
    app.handle_key(key(KeyCode::Backspace));
    chars(&mut app, "soon");
    assert_eq!(app.handle_key(key(KeyCode::Enter)), Action::None);
    let Mode::Prompt(p) = &app.mode else {
        panic!("prompt closed on bad input")
    };
    assert!(
        p.error.as_deref().is_some_and(|e| e.contains("try 150ms")),
        "{:?}",
        p.error
    );
    assert_eq!(app.min_duration, Duration::ZERO);
    for _ in 0..4 {
        app.handle_key(key(KeyCode::Backspace));
    }
    chars(&mut app, "150ms");
    assert_eq!(
        app.handle_key(key(KeyCode::Enter)),
        Action::SetMinDuration(Duration::from_millis(150))
    );
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(app.requested_min_duration, Some(Duration::from_millis(150)));
    // the header shows the kernel's value once it confirms
    app.apply(Message::MinDuration(Duration::from_millis(150)));
    assert_eq!(
        (app.min_duration, app.requested_min_duration),
        (Duration::from_millis(150), None)
    );
    // Esc cancels without change
    app.handle_key(key(KeyCode::Char('d')));
    chars(&mut app, "9");
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(app.min_duration, Duration::from_millis(150));
}

#[test]
fn presets_step_up_and_down() {
    let mut app = App::new(config());
    let ms = Duration::from_millis;
    assert_eq!(
        app.handle_key(key(KeyCode::Char('+'))),
        Action::SetMinDuration(ms(1))
    );
    assert_eq!(
        app.handle_key(key(KeyCode::Char('+'))),
        Action::SetMinDuration(ms(10))
    );
    app.apply(Message::MinDuration(ms(150)));
    assert_eq!(
        app.handle_key(key(KeyCode::Char('+'))),
        Action::SetMinDuration(ms(1000))
    );
    app.apply(Message::MinDuration(ms(150)));
    assert_eq!(
        app.handle_key(key(KeyCode::Char('-'))),
        Action::SetMinDuration(ms(100))
    );
    app.apply(Message::MinDuration(ms(100)));
    assert_eq!(
        app.handle_key(key(KeyCode::Char('-'))),
        Action::SetMinDuration(ms(10))
    );
    app.apply(Message::MinDuration(Duration::ZERO));
    assert_eq!(
        app.handle_key(key(KeyCode::Char('-'))),
        Action::SetMinDuration(Duration::ZERO)
    );
}

#[test]
fn replay_applies_the_min_duration_itself() {
    let mut app = App::new(AppConfig {
        filter_in_app: true,
        ..config()
    });
    assert_eq!(app.handle_key(key(KeyCode::Char('+'))), Action::None);
    app.handle_key(key(KeyCode::Char('d')));
    app.handle_key(key(KeyCode::Backspace));
    app.handle_key(key(KeyCode::Backspace));
    app.handle_key(key(KeyCode::Backspace));
    chars(&mut app, "200ms");
    assert_eq!(app.handle_key(key(KeyCode::Enter)), Action::None);
    assert_eq!(app.min_duration, Duration::from_millis(200));
    app.apply(events(vec![
        TraceEvent::Exit(exit(process(1, "short", 1), 20, 0)),
        TraceEvent::Exit(exit(process(2, "long", 1), 500, 0)),
    ]));
    assert_eq!(finished_pids(&mut app), [2]);
}

#[test]
fn navigation_keys_move_the_selection() {
    let mut app = App::new(config());
    let exits = (1..=30)
        .map(|i| TraceEvent::Exit(exit(process(i, "x", i as u64), 1, 0)))
        .collect();
    app.apply(events(exits));
    app = prepared(app);
    let selected = |app: &App| {
        app.tables
            .finished
            .view
            .selected_key()
            .and_then(|s| app.finished_row(s))
            .map(|r| r.exit.process.pid)
    };
    assert_eq!(selected(&app), Some(30));
    app.handle_key(key(KeyCode::Down));
    app.handle_key(key(KeyCode::Char('j')));
    assert_eq!(selected(&app), Some(28));
    app.handle_key(key(KeyCode::Char('k')));
    assert_eq!(selected(&app), Some(29));
    app.handle_key(key(KeyCode::PageDown));
    assert_eq!(selected(&app), Some(19));
    app.handle_key(key(KeyCode::PageUp));
    assert_eq!(selected(&app), Some(29));
    app.handle_key(key(KeyCode::Char('G')));
    assert_eq!(selected(&app), Some(1));
    app.handle_key(key(KeyCode::End));
    app.handle_key(key(KeyCode::Char('g')));
    assert_eq!(selected(&app), Some(30));
    app.handle_key(key(KeyCode::End));
    app.handle_key(key(KeyCode::Home));
    assert_eq!(selected(&app), Some(30));
    // the selection stays on its row as new rows arrive on top
    app.handle_key(key(KeyCode::Down));
    app.apply(events(vec![TraceEvent::Exit(exit(
        process(99, "new", 99),
        1,
        0,
    ))]));
    app = prepared(app);
    assert_eq!(selected(&app), Some(29));
}

#[test]
fn keys_for_detail_help_pause_and_quit() {
    let mut app = App::new(config());
    assert_eq!(app.handle_key(key(KeyCode::Enter)), Action::None);
    assert!(app.detail);
    // Esc closes the detail pane first, then quits
    assert_eq!(app.handle_key(key(KeyCode::Esc)), Action::None);
    assert!(!app.detail);
    assert_eq!(app.handle_key(key(KeyCode::Char('?'))), Action::None);
    assert_eq!(app.mode, Mode::Help);
    // q in help closes help
    assert_eq!(app.handle_key(key(KeyCode::Char('q'))), Action::None);
    assert_eq!(app.mode, Mode::Normal);
    app.handle_key(key(KeyCode::F(1)));
    assert_eq!(app.mode, Mode::Help);
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(app.handle_key(key(KeyCode::Char('q'))), Action::Quit);
    assert_eq!(app.handle_key(key(KeyCode::Esc)), Action::Quit);
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(app.handle_key(ctrl_c), Action::Quit);
    // Ctrl-C quits from a prompt; q there is text
    app.handle_key(key(KeyCode::Char('/')));
    assert_eq!(app.handle_key(key(KeyCode::Char('q'))), Action::None);
    assert_eq!(app.search, "q");
    assert_eq!(app.handle_key(ctrl_c), Action::Quit);
}

#[test]
fn mouse_sorts_selects_and_scrolls() {
    let mut app = prepared(sample_app());
    let vp = viewport();
    let click = |col: u16, row: u16| MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: col,
        row,
        modifiers: KeyModifiers::NONE,
    };
    // DURATION is the finished table's sixth column
    app.handle_mouse(click(52, 20), &vp);
    assert_eq!(
        app.tables.finished.sort,
        Sort {
            column: FinishedColumn::Duration,
            descending: true
        }
    );
    app.handle_mouse(click(52, 20), &vp);
    assert!(!app.tables.finished.sort.descending);
    app.prepare(&vp);
    app.handle_mouse(click(5, 23), &vp);
    let sel = app
        .tables
        .finished
        .view
        .selected_key()
        .and_then(|s| app.finished_row(s))
        .map(|r| r.exit.process.pid);
    assert_eq!(sel, Some(30), "third row by ascending duration");
    // a click in the live table focuses it
    app.handle_mouse(click(5, 0), &vp);
    assert_eq!(app.view, ViewId::Live);
    let wheel = MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: 5,
        row: 25,
        modifiers: KeyModifiers::NONE,
    };
    app.handle_mouse(wheel, &vp);
    assert_eq!(app.tables.finished.view.cursor, 2);
}

#[test]
fn parent_chain_walks_live_and_finished_processes() {
    let mut app = App::new(config());
    app.apply(Message::Snapshot(vec![ProcessInfo {
        ppid: 0,
        ..process(1, "init", 0)
    }]));
    let sh = ProcessInfo {
        ppid: 1,
        ..process(100, "sh", 1)
    };
    let make = ProcessInfo {
        ppid: 100,
        ..process(200, "make", 2)
    };
    app.apply(events(vec![
        TraceEvent::Exec(sh.clone()),
        TraceEvent::Exit(exit(sh, 10, 0)),
    ]));
    assert_eq!(
        app.parent_chain(make.ppid),
        [(100, "sh".to_string()), (1, "init".to_string())]
    );
    assert_eq!(app.parent_chain(555), [(555, "?".to_string())]);
}

#[test]
fn drops_and_failures_are_kept_for_the_header() {
    let mut app = App::new(config());
    let drops = Drops {
        exit_ringbuf: 4,
        ..Default::default()
    };
    app.apply(events(vec![TraceEvent::Lost {
        time: WallTime(T0),
        drops,
    }]));
    assert_eq!(app.drops.total(), 4);
    app.apply(Message::CommandFailed("map write failed".into()));
    assert_eq!(app.notice.as_deref(), Some("map write failed"));
    app.apply(Message::Failed("ring buffer gone".into()));
    assert_eq!(app.failure.as_deref(), Some("ring buffer gone"));
}

#[test]
fn rates_follow_event_time() {
    let mut app = App::new(config());
    let list = (0..5)
        .map(|i| TraceEvent::Exec(process(i, "x", 10)))
        .collect();
    app.apply(events(list));
    app.tick(WallTime(T0 + 10 * SEC + 500_000_000));
    assert_eq!(app.rates(), (5, 0));
    app.tick(WallTime(T0 + 20 * SEC));
    assert_eq!(app.rates(), (0, 0));
}

pub(super) fn sample_app() -> App {
    let mut app = App::new(config());
    let a = ProcessInfo {
        uid: 0,
        ppid: 3,
        ..process(30, "bash", 3)
    };
    let b = ProcessInfo {
        ppid: 2,
        ..process(10, "awk", 1)
    };
    let c = ProcessInfo {
        ppid: 2,
        ..process(20, "awk", 2)
    };
    app.apply(events(vec![
        TraceEvent::Exec(a.clone()),
        TraceEvent::Exec(b.clone()),
        TraceEvent::Exec(c.clone()),
        TraceEvent::Exit(exit(a, 300, 0)),
        TraceEvent::Exit(exit(b, 100, 9)),
        TraceEvent::Exit(exit(c, 100, 1 << 8)),
    ]));
    app
}
