//! Unit tests of sorting: every column both ways with stable ties, the
//! keys and clicks that pick the sort, and incremental merges that agree
//! with full sorts without frames re-sorting.

use super::fixtures::*;
use super::tests::{events, finished_pids, key, live_pids, sample_app, viewport};
use super::*;
use crate::event::ProcessInfo;
use ratatui::crossterm::event::KeyCode;

#[test]
fn incremental_and_full_sorts_agree() {
    let mut app = App::new(AppConfig {
        max_finished: 50,
        ..config()
    });
    app.view = ViewId::Finished;
    app.run(Op::SortNext); // PID
    app.run(Op::SortNext); // PPID
    app.run(Op::SortNext); // USER
    app.run(Op::SortNext); // COMM
    app.run(Op::SortNext); // DURATION
    assert_eq!(
        app.tables.finished.sort,
        Sort {
            column: FinishedColumn::Duration,
            descending: true
        }
    );
    for batch in 0..10u32 {
        let exits = (0..8u32)
            .map(|i| {
                let pid = batch * 8 + i + 1;
                TraceEvent::Exit(exit(
                    process(pid, "w", pid as u64),
                    (pid as u64 * 37) % 23,
                    0,
                ))
            })
            .collect();
        app.apply(events(exits));
        finished_pids(&mut app);
    }
    let incremental = finished_pids(&mut app);
    app.tables.finished.invalidate();
    assert_eq!(finished_pids(&mut app), incremental);
    assert_eq!(incremental.len(), 50);
}

#[test]
fn every_finished_column_sorts_both_ways_with_stable_ties() {
    let expected: [(FinishedColumn, [u32; 3]); 8] = [
        (FinishedColumn::End, [10, 20, 30]),
        (FinishedColumn::Pid, [10, 20, 30]),
        (FinishedColumn::Ppid, [10, 20, 30]),
        (FinishedColumn::User, [10, 20, 30]),
        (FinishedColumn::Comm, [10, 20, 30]),
        (FinishedColumn::Duration, [10, 20, 30]),
        (FinishedColumn::Exit, [30, 20, 10]),
        (FinishedColumn::Command, [10, 20, 30]),
    ];
    for (column, ascending) in expected {
        let mut app = sample_app();
        app.tables.finished.sort_by(column);
        app.tables.finished.sort.descending = false;
        app.tables.finished.invalidate();
        assert_eq!(finished_pids(&mut app), ascending, "{column:?} ascending");
        app.run(Op::SortReverse);
        let mut descending = ascending;
        descending.reverse();
        assert_eq!(finished_pids(&mut app), descending, "{column:?} descending");
    }
}

#[test]
fn every_live_column_sorts_both_ways_with_stable_ties() {
    let expected: [(LiveColumn, [u32; 3]); 6] = [
        (LiveColumn::Pid, [10, 20, 30]),
        (LiveColumn::Ppid, [10, 20, 30]),
        (LiveColumn::User, [10, 20, 30]),
        (LiveColumn::Comm, [10, 20, 30]),
        (LiveColumn::Age, [30, 20, 10]),
        (LiveColumn::Command, [10, 20, 30]),
    ];
    for (column, ascending) in expected {
        let mut app = App::new(config());
        app.view = ViewId::Live;
        app.apply(Message::Snapshot(vec![
            ProcessInfo {
                uid: 0,
                ppid: 3,
                ..process(30, "bash", 3)
            },
            ProcessInfo {
                ppid: 2,
                ..process(10, "awk", 1)
            },
            ProcessInfo {
                ppid: 2,
                ..process(20, "awk", 2)
            },
        ]));
        app.tables.live.sort_by(column);
        app.tables.live.sort.descending = false;
        assert_eq!(live_pids(&mut app), ascending, "{column:?} ascending");
        app.run(Op::SortReverse);
        let mut descending = ascending;
        descending.reverse();
        assert_eq!(live_pids(&mut app), descending, "{column:?} descending");
    }
}

#[test]
fn sort_keys_cycle_columns_of_the_focused_table() {
    let mut app = App::new(config());
    app.handle_key(key(KeyCode::Char('>')));
    assert_eq!(app.tables.finished.sort.column, FinishedColumn::Pid);
    app.handle_key(key(KeyCode::F(6)));
    assert_eq!(app.tables.finished.sort.column, FinishedColumn::Ppid);
    app.handle_key(key(KeyCode::Char('<')));
    app.handle_key(key(KeyCode::Char('<')));
    assert_eq!(app.tables.finished.sort.column, FinishedColumn::End);
    app.handle_key(key(KeyCode::Char('<')));
    assert_eq!(app.tables.finished.sort.column, FinishedColumn::Command);
    app.handle_key(key(KeyCode::Char('I')));
    assert!(app.tables.finished.sort.descending);
    app.handle_key(key(KeyCode::Tab));
    assert_eq!(app.view, ViewId::Commands);
    app.handle_key(key(KeyCode::Char('>')));
    assert_eq!(app.tables.commands.sort.column, CommandColumn::CpuPerRun);
    app.handle_key(key(KeyCode::Tab));
    assert_eq!(app.view, ViewId::Live);
    app.handle_key(key(KeyCode::Char('>')));
    assert_eq!(app.tables.live.sort.column, LiveColumn::Ppid);
    assert_eq!(app.tables.finished.sort.column, FinishedColumn::Command);
}

#[test]
fn frames_do_not_resort_and_arrivals_merge() {
    let mut app = sample_app();
    finished_pids(&mut app);
    assert_eq!(app.tables.finished.full_sorts, 1);
    for _ in 0..5 {
        app.prepare(&viewport());
    }
    assert_eq!(
        app.tables.finished.full_sorts, 1,
        "a frame with nothing new sorted again"
    );
    app.apply(events(vec![TraceEvent::Exit(exit(
        process(77, "new", 50),
        1,
        0,
    ))]));
    assert_eq!(finished_pids(&mut app)[0], 77);
    assert_eq!(
        app.tables.finished.full_sorts, 1,
        "new rows are merged, not sorted with the rest"
    );
    app.run(Op::SortReverse);
    finished_pids(&mut app);
    assert_eq!(app.tables.finished.full_sorts, 2);
}
