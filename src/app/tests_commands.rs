//! Unit tests of the Commands view: kernel totals and replayed exits in,
//! rows, order, keys, search and the detail out.

use std::time::Duration;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};

use super::fixtures::*;
use super::tests::finished_pids;
use super::*;
use crate::event::{CommandTotals, ExitInfo, ProcessInfo};
use crate::source::CommandUpdate;

fn key(app: &mut App, code: KeyCode) -> Action {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
}

fn viewport() -> Viewport {
    let area = |y: u16, n: usize| TableArea {
        header: Rect::new(0, y, 100, 1),
        body: Rect::new(0, y + 1, 100, 10),
        columns: (0..n as u16).map(|i| (i * 9, 8)).collect(),
    };
    Viewport {
        tables: vec![
            (ViewId::Live, area(0, LiveColumn::ALL.len())),
            (ViewId::Finished, area(20, FinishedColumn::ALL.len())),
            (ViewId::Commands, area(40, CommandColumn::ALL.len())),
        ],
        ..Default::default()
    }
}

fn names(app: &mut App) -> Vec<String> {
    app.prepare(&viewport());
    app.command_order()
        .iter()
        .map(|r| r.totals.comm.clone())
        .collect()
}

/// The named command's row; a test that expects it fails saying which.
fn command<'a>(app: &'a App, comm: &str) -> &'a CommandRow {
    app.store
        .commands
        .by_name(comm)
        .unwrap_or_else(|| panic!("no command {comm} in the store"))
}

fn totals(comm: &str, runs: u64, cpu_ms: u64) -> CommandTotals {
    let mut t = CommandTotals::new(comm);
    t.runs = runs;
    t.cpu_ns = cpu_ms * 1_000_000;
    t.durations[20] = runs;
    t.max_duration_ns = 1_000_000;
    t
}

fn update(at_s: u64, changed: Vec<CommandTotals>) -> Message {
    Message::Commands(CommandUpdate {
        at: WallTime(T0 + at_s * SEC),
        changed,
        restarted: 0,
        unseen: 0,
    })
}

fn run(comm: &str, pid: u32, start_s: u64, ms: u64, status: u32, cpu_ms: u64) -> ExitInfo {
    let mut e = exit(process(pid, comm, start_s), ms, status);
    e.usage = Some(crate::event::Usage {
        cpu_user_ns: cpu_ms * 1_000_000,
        max_rss_kib: 1000 + u64::from(pid % 7),
        ..Default::default()
    });
    e
}

#[test]
fn kernel_totals_fill_the_view_biggest_cpu_first() {
    let mut app = App::new(config());
    app.apply(update(
        1,
        vec![
            totals("make", 3, 50),
            totals("cc1", 40, 900),
            totals("sh", 90, 20),
        ],
    ));
    key(&mut app, KeyCode::Char('c'));
    assert_eq!(app.view, ViewId::Commands);
    assert_eq!(names(&mut app), ["cc1", "make", "sh"]);
    // a later read replaces the totals; what they grew by is dated
    app.apply(update(2, vec![totals("sh", 2090, 2020)]));
    assert_eq!(names(&mut app), ["sh", "cc1", "make"]);
    app.tick(WallTime(T0 + 3 * SEC));
    let sh = command(&app, "sh");
    assert_eq!(sh.totals.runs, 2090);
    assert_eq!(sh.runs.sum(app.now, RECENT_SECS), 2090);
    // 0.97 s of CPU in the first read, 2.0 s more in the second: of 10 s
    let share = app.store.commands.cpu_share(app.now, RECENT_SECS);
    assert!((share - 29.7).abs() < 0.01, "{share}");
}

#[test]
fn a_command_seen_before_its_kernel_totals_waits_for_them() {
    let mut app = App::new(config());
    app.apply(Message::Events(vec![TraceEvent::Exit(run(
        "cc1", 5, 1, 3, 0, 1,
    ))]));
    key(&mut app, KeyCode::Char('c'));
    assert!(names(&mut app).is_empty(), "no runs counted yet");
    app.apply(update(2, vec![totals("cc1", 7, 9)]));
    assert_eq!(names(&mut app), ["cc1"]);
    let row = command(&app, "cc1");
    assert_eq!(row.totals.runs, 7, "the kernel's count, not the exits seen");
    assert_eq!(row.parents, [("?".to_string(), 1)]);
}

/// A replay has no kernel: the App counts every exit, also those the
/// capped finished list evicted and those the min duration hides.
#[test]
fn a_replay_counts_every_run_beyond_the_cap_and_the_min_duration() {
    let mut app = App::new(AppConfig {
        max_finished: 3,
        min_duration: Duration::from_millis(50),
        filter_in_app: true,
        ..config()
    });
    let mut events = Vec::new();
    for i in 0..2000u32 {
        let status = if i % 100 == 0 { 1 << 8 } else { 0 };
        events.push(TraceEvent::Exit(run("true", 10_000 + i, 1, 1, status, 0)));
    }
    for i in 0..5u32 {
        events.push(TraceEvent::Exit(run("make", 100 + i, 1, 800, 0, 300)));
    }
    app.apply(Message::Events(events));
    assert_eq!(finished_pids(&mut app).len(), 3, "the cap holds");
    assert!(app.evicted() > 1000);
    key(&mut app, KeyCode::Char('c'));
    assert_eq!(names(&mut app), ["make", "true"]);
    let t = &command(&app, "true").totals;
    assert_eq!(
        (t.runs, t.failed, t.outcomes[0], t.outcomes[1]),
        (2000, 20, 1980, 20)
    );
    assert_eq!(t.durations.iter().sum::<u64>(), 2000);
    let make = &command(&app, "make").totals;
    assert_eq!((make.runs, make.cpu_ns), (5, 1_500_000_000));
}

#[test]
fn c_goes_to_commands_and_back_and_tab_cycles_three_views() {
    let mut app = App::new(config());
    key(&mut app, KeyCode::Char('c'));
    assert_eq!(app.view, ViewId::Commands);
    key(&mut app, KeyCode::Char('c'));
    assert_eq!(app.view, ViewId::Finished);
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.view, ViewId::Live);
    key(&mut app, KeyCode::Char('c'));
    key(&mut app, KeyCode::Char('c'));
    assert_eq!(app.view, ViewId::Live, "back to the view it came from");
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.view, ViewId::Commands);
}

#[test]
fn search_sort_and_detail_work_on_commands() {
    let mut app = App::new(AppConfig {
        filter_in_app: true,
        ..config()
    });
    let make = process(50, "make", 1);
    app.apply(Message::Snapshot(vec![make]));
    let cc1 = ProcessInfo {
        ppid: 50,
        ..process(60, "cc1", 2)
    };
    let mut events = vec![TraceEvent::Exit(run("sh", 70, 1, 5, 2 << 8, 2))];
    for i in 0..3 {
        let mut e = run("cc1", 60 + i, 2, 40, 0, 30);
        e.process.ppid = cc1.ppid;
        events.push(TraceEvent::Exit(e));
    }
    app.apply(Message::Events(events));
    key(&mut app, KeyCode::Char('c'));
    assert_eq!(names(&mut app), ["cc1", "sh"]);
    // sort by runs ascending, by the keys and by a click on its title
    key(&mut app, KeyCode::Char('<'));
    key(&mut app, KeyCode::Char('<'));
    assert_eq!(app.tables.commands.sort.column, CommandColumn::Runs);
    assert_eq!(names(&mut app), ["cc1", "sh"]);
    key(&mut app, KeyCode::Char('r'));
    assert_eq!(names(&mut app), ["sh", "cc1"]);
    let click = MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 2,
        row: 40,
        modifiers: KeyModifiers::NONE,
    };
    app.handle_mouse(click, &viewport());
    assert_eq!(app.tables.commands.sort.column, CommandColumn::Command);
    assert_eq!(names(&mut app), ["cc1", "sh"]);
    // search: by parent, by exit outcome, and a miss
    key(&mut app, KeyCode::Char('/'));
    typed(&mut app, "make");
    key(&mut app, KeyCode::Enter);
    assert_eq!(names(&mut app), ["cc1"]);
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char('/'));
    typed(&mut app, "exit:2");
    key(&mut app, KeyCode::Enter);
    assert_eq!(names(&mut app), ["sh"]);
    key(&mut app, KeyCode::Esc);
    assert_eq!(names(&mut app), ["cc1", "sh"]);
    // Enter: the selected command's detail
    key(&mut app, KeyCode::Enter);
    match app.selected() {
        Some(Selected::Command(r)) => {
            assert_eq!(r.totals.comm, "cc1");
            assert_eq!(r.parents, [("make".to_string(), 3)]);
            assert_eq!(r.lines.back().map(String::as_str), Some("cc1 --arg62"));
        }
        _ => panic!("no command selected"),
    }
}

#[test]
fn merging_changed_rows_agrees_with_a_full_sort() {
    let mut app = App::new(config());
    key(&mut app, KeyCode::Char('c'));
    app.apply(update(
        1,
        (0..200)
            .map(|i| totals(&format!("c{i}"), 5, (i * 37) % 101))
            .collect(),
    ));
    names(&mut app);
    for round in 2..20u64 {
        let changed = (0..15)
            .map(|j| {
                let i = (round * 31 + j * 7) % 200;
                totals(&format!("c{i}"), 5 + round, (i * round * 13) % 997)
            })
            .collect();
        app.apply(update(round, changed));
        let merged = names(&mut app);
        app.tables.commands.invalidate();
        assert_eq!(names(&mut app), merged, "round {round}");
    }
    assert_eq!(
        app.tables.commands.full_sorts, 19,
        "one full sort per check, none per read"
    );
}
