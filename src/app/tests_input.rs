//! Unit tests of input: what Esc closes, how prompts edit, what a search
//! finds, and the rates a pause shows.

use std::time::Duration;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::fixtures::*;
use super::*;
use crate::event::ExecStep;
#[allow(unused_imports)]
use crate::event::{ExitInfo, ProcessInfo};

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        app.handle_key(key(KeyCode::Char(c)));
    }
}

fn viewport() -> Viewport {
    let area = |y: u16| TableArea {
        header: Rect::new(0, y, 100, 1),
        body: Rect::new(0, y + 1, 100, 10),
        columns: Vec::new(),
    };
    Viewport {
        tables: vec![(ViewId::Live, area(0)), (ViewId::Finished, area(20))],
        ..Default::default()
    }
}

fn live_pids(app: &mut App) -> Vec<u32> {
    app.prepare(&viewport());
    let mut pids = app.tables.live.view.order.clone();
    pids.sort_unstable();
    pids
}

fn finished_pids(app: &mut App) -> Vec<u32> {
    app.prepare(&viewport());
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

fn prompt(app: &App) -> &Prompt {
    match &app.mode {
        Mode::Prompt(p) => p,
        other => panic!("no prompt open: {other:?}"),
    }
}

/// Live: sleep 3601 (pid 4242, child of 77) and vim. Finished: true (0),
/// false (1), a killed job, and `true` that ran `env MARKER=zebra123` first.
fn app_with_rows() -> App {
    let mut app = App::new(config());
    let mut sleep = process(4242, "sleep", 1);
    sleep.ppid = 77;
    sleep.argv = vec!["sleep".into(), "3601".into()];
    let root_vim = ProcessInfo {
        uid: 0,
        ..process(50, "vim", 2)
    };
    let mut chained = process(60, "true", 3);
    chained.argv = vec!["true".into()];
    chained.history = vec![ExecStep {
        comm: "env".into(),
        filename: "/usr/bin/env".into(),
        argv: vec!["env".into(), "MARKER=zebra123".into(), "true".into()],
        ..Default::default()
    }];
    app.apply(Message::Events(vec![
        TraceEvent::Exec(sleep),
        TraceEvent::Exec(root_vim),
        TraceEvent::Exit(exit(process(10, "true", 1), 1, 0)),
        TraceEvent::Exit(exit(process(11, "false", 1), 1, 1 << 8)),
        TraceEvent::Exit(exit(process(12, "job", 1), 1, 9)),
        TraceEvent::Exit(exit(chained, 1, 0)),
    ]));
    app
}

#[test]
fn esc_closes_help_prompt_detail_and_search_before_it_quits() {
    let mut app = app_with_rows();
    app.handle_key(key(KeyCode::Char('/')));
    typed(&mut app, "sleep");
    app.handle_key(key(KeyCode::Enter));
    app.handle_key(key(KeyCode::Enter));
    assert!(app.detail);
    app.handle_key(key(KeyCode::Char('?')));
    assert_eq!(app.mode, Mode::Help);

    // help, then the detail pane, then the search: none of them quits
    assert_eq!(app.handle_key(key(KeyCode::Esc)), Action::None);
    assert_eq!(app.mode, Mode::Normal);
    assert!(app.detail && app.search == "sleep");
    assert_eq!(app.handle_key(key(KeyCode::Esc)), Action::None);
    assert!(!app.detail);
    assert_eq!(app.search, "sleep");
    assert_eq!(live_pids(&mut app), [4242]);
    assert_eq!(app.handle_key(key(KeyCode::Esc)), Action::None);
    assert_eq!(app.search, "");
    assert_eq!(live_pids(&mut app), [50, 4242]);
    // nothing open: now it quits
    assert_eq!(app.handle_key(key(KeyCode::Esc)), Action::Quit);
}

#[test]
fn esc_in_a_prompt_closes_only_the_prompt() {
    let mut app = app_with_rows();
    app.handle_key(key(KeyCode::Char('/')));
    typed(&mut app, "vim");
    app.handle_key(key(KeyCode::Enter));
    // a search prompt: Esc restores the search in force before it
    app.handle_key(key(KeyCode::Char('/')));
    typed(&mut app, "sleep");
    assert_eq!(live_pids(&mut app), [4242], "the tables follow typing");
    assert_eq!(app.handle_key(key(KeyCode::Esc)), Action::None);
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(app.search, "vim");
    assert_eq!(live_pids(&mut app), [50]);
    // a min-duration prompt: Esc changes nothing, quits nothing
    app.handle_key(key(KeyCode::Char('d')));
    typed(&mut app, "5s");
    assert_eq!(app.handle_key(key(KeyCode::Esc)), Action::None);
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(app.min_duration, Duration::ZERO);
    assert_eq!(app.search, "vim");
    // q still quits with a search in force
    assert_eq!(app.handle_key(key(KeyCode::Char('q'))), Action::Quit);
}

#[test]
fn the_first_key_typed_replaces_the_old_value() {
    let mut app = App::new(config());
    app.apply(Message::MinDuration(Duration::from_millis(100)));
    app.handle_key(key(KeyCode::Char('d')));
    assert_eq!(prompt(&app).text(), "100ms");
    assert!(prompt(&app).editor.selected());
    typed(&mut app, "2s");
    assert_eq!(prompt(&app).text(), "2s");
    assert_eq!(
        app.handle_key(key(KeyCode::Enter)),
        Action::SetMinDuration(Duration::from_secs(2))
    );

    // the search prompt too; End keeps the old value to add to it
    app.handle_key(key(KeyCode::Char('/')));
    typed(&mut app, "sleep");
    app.handle_key(key(KeyCode::Enter));
    app.handle_key(key(KeyCode::Char('/')));
    assert_eq!(prompt(&app).text(), "sleep");
    typed(&mut app, "vim");
    assert_eq!(prompt(&app).text(), "vim");
    app.handle_key(key(KeyCode::Esc));
    app.handle_key(key(KeyCode::Char('/')));
    app.handle_key(key(KeyCode::End));
    typed(&mut app, " 3601");
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.search, "sleep 3601");
}

#[test]
fn prompt_editing_keys_reach_the_line_editor() {
    let mut app = App::new(config());
    app.apply(Message::MinDuration(Duration::from_millis(100)));
    app.handle_key(key(KeyCode::Char('d')));
    // Ctrl-U clears: it must not insert "u"
    app.handle_key(key(KeyCode::End));
    app.handle_key(ctrl('u'));
    assert_eq!(prompt(&app).text(), "");
    typed(&mut app, "1 s");
    app.handle_key(ctrl('w'));
    assert_eq!(prompt(&app).text(), "1 ");
    typed(&mut app, "5s");
    app.handle_key(key(KeyCode::Home));
    app.handle_key(key(KeyCode::Delete));
    app.handle_key(key(KeyCode::Delete));
    typed(&mut app, "2");
    app.handle_key(key(KeyCode::Right));
    app.handle_key(key(KeyCode::Backspace));
    typed(&mut app, "m");
    app.handle_key(key(KeyCode::Left));
    typed(&mut app, "0");
    assert_eq!(prompt(&app).text(), "20ms");
    assert_eq!(
        app.handle_key(key(KeyCode::Enter)),
        Action::SetMinDuration(Duration::from_millis(20))
    );
    // Ctrl-C still quits from a prompt
    app.handle_key(key(KeyCode::Char('/')));
    assert_eq!(app.handle_key(ctrl('c')), Action::Quit);
}

#[test]
fn search_matches_the_whole_command_line_and_numbers() {
    let mut app = app_with_rows();
    app.handle_key(key(KeyCode::Char('/')));
    typed(&mut app, "sleep 3601");
    assert_eq!(live_pids(&mut app), [4242]);
    assert!(finished_pids(&mut app).is_empty());
    app.handle_key(ctrl('u'));
    typed(&mut app, "\"sleep 3601\"");
    assert_eq!(live_pids(&mut app), [4242]);
    // a bare number: the pid and the ppid
    app.handle_key(ctrl('u'));
    typed(&mut app, "77");
    assert_eq!(live_pids(&mut app), [4242]);
    app.handle_key(ctrl('u'));
    typed(&mut app, "4242");
    assert_eq!(live_pids(&mut app), [4242]);
    // an earlier command line of a process that exec'd again
    app.handle_key(ctrl('u'));
    typed(&mut app, "ZEBRA123");
    assert_eq!(finished_pids(&mut app), [60]);
    assert!(live_pids(&mut app).is_empty());
}

#[test]
fn search_terms_filter_both_tables() {
    let mut app = app_with_rows();
    let search = |app: &mut App, text: &str| {
        app.handle_key(key(KeyCode::Char('/')));
        typed(app, text);
        app.handle_key(key(KeyCode::Enter));
        assert_eq!(app.mode, Mode::Normal, "{text}");
        (live_pids(app), finished_pids(app))
    };
    assert_eq!(search(&mut app, "exit:!0"), (vec![], vec![11, 12]));
    assert_eq!(search(&mut app, "exit:1"), (vec![], vec![11]));
    assert_eq!(search(&mut app, "-exit:!0"), (vec![50, 4242], vec![10, 60]));
    assert_eq!(search(&mut app, "user:root"), (vec![50], vec![]));
    assert_eq!(search(&mut app, "pid:10"), (vec![], vec![10]));
    assert_eq!(search(&mut app, "ppid:77"), (vec![4242], vec![]));
    assert_eq!(search(&mut app, "true -zebra"), (vec![], vec![10]));
    assert_eq!(app.search, "true -zebra");
}

#[test]
fn an_invalid_term_is_an_error_in_the_prompt_not_an_empty_table() {
    let mut app = app_with_rows();
    app.handle_key(key(KeyCode::Char('/')));
    typed(&mut app, "sleep");
    assert_eq!(live_pids(&mut app), [4242]);
    typed(&mut app, " pid:abc");
    let error = prompt(&app).error.clone().unwrap_or_default();
    assert!(error.contains("pid: needs a number"), "{error:?}");
    // the last valid search typed ("sleep pid") stays in force
    assert_eq!(app.search, "sleep pid");
    app.handle_key(key(KeyCode::Backspace));
    assert!(prompt(&app).error.is_some(), "pid:ab is still invalid");
    // Enter does not apply it
    app.handle_key(key(KeyCode::Enter));
    assert!(prompt(&app).error.is_some());
    // fixing it clears the error
    app.handle_key(ctrl('w'));
    typed(&mut app, "pid:4242");
    assert_eq!(prompt(&app).error, None);
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(app.search, "sleep pid:4242");
}

#[test]
fn a_pause_shows_the_real_rates_and_release_does_not_count_twice() {
    let mut app = App::new(config());
    app.handle_key(key(KeyCode::Char(' ')));
    assert!(app.paused());
    let batch: Vec<TraceEvent> = (0..5)
        .map(|i| TraceEvent::Exec(process(100 + i, "x", 10)))
        .chain((0..3).map(|i| TraceEvent::Exit(exit(process(200 + i, "y", 10), 0, 0))))
        .collect();
    app.apply(Message::Events(batch));
    app.tick(WallTime(T0 + 10 * SEC + 500_000_000));
    assert_eq!(app.rates(), (5, 3));
    assert_eq!(app.live_count(), 0, "the display is still held");
    app.handle_key(key(KeyCode::Char(' ')));
    assert_eq!(app.live_count(), 5);
    assert_eq!(app.rates(), (5, 3));
}

#[test]
fn rates_count_execs_at_exec_time_and_not_running_processes() {
    let mut app = App::new(config());
    let mut reexec = process(1, "make", 0);
    reexec.exec_time = WallTime(T0 + 10 * SEC);
    let found = ProcessInfo {
        origin: crate::event::Origin::Proc,
        exec_time: WallTime(T0 + 10 * SEC),
        ..process(2, "sshd", 10)
    };
    app.apply(Message::Events(vec![
        TraceEvent::Exec(reexec),
        TraceEvent::Exec(found),
    ]));
    app.tick(WallTime(T0 + 10 * SEC + 500_000_000));
    assert_eq!(app.rates(), (1, 0));
}

#[test]
fn esc_and_q_are_separate_keys_in_the_table() {
    assert_eq!(keys::lookup(&key(KeyCode::Esc)), Some(Op::Back));
    assert_eq!(keys::lookup(&key(KeyCode::Char('q'))), Some(Op::Quit));
    let esc = BINDINGS
        .iter()
        .find(|b| b.op == Op::Back)
        .expect("an Esc binding");
    assert!(esc.help.contains("quit"), "the help says when Esc quits");
}
