//! Render snapshots of the Commands view: its table at three widths, and
//! the detail pane with the duration histogram and runs per second.

use ratatui::crossterm::event::KeyCode;

use super::tests::{press, render};
use crate::app::fixtures::*;
use crate::app::{App, AppConfig, HostInfo};
use crate::event::{ExitInfo, ProcessInfo, TraceEvent, Usage, WallTime};
use crate::source::Message;

/// A replay (so the App adds up the commands): a make that ran cc1 and
/// as, a shell whose commands failed, a killed sleep, a slow test.
fn commands_app() -> App {
    let mut app = App::new(AppConfig {
        filter_in_app: true,
        host: HostInfo {
            host: "buildbox".into(),
            source: "replay build.jsonl".into(),
            ..Default::default()
        },
        ..config()
    });
    let make = process(50, "make", 1);
    app.apply(Message::Snapshot(vec![make]));
    let mut events = Vec::new();
    let mut pid = 100;
    let mut run = |comm: &str, ms: u64, status: u32, cpu_ms: u64, rss: u64, at_s: u64| {
        pid += 1;
        let mut p: ProcessInfo = process(pid, comm, at_s);
        p.ppid = 50;
        p.argv = vec![comm.into(), format!("file{}.c", pid % 4)];
        let mut e: ExitInfo = exit(p, ms, status);
        e.usage = Some(Usage {
            cpu_user_ns: cpu_ms * 1_000_000,
            max_rss_kib: rss,
            ..Default::default()
        });
        events.push(TraceEvent::Exit(e));
    };
    for i in 0..40 {
        run("cc1", 20 + i * 7, 0, 15 + i, 30_000 + i * 100, 80 + i / 4);
    }
    for i in 0..25 {
        run("as", 2 + i % 3, 0, 1, 4_000, 85 + i / 5);
    }
    for i in 0..6 {
        run("sh", 1, if i < 2 { 127 << 8 } else { 0 }, 1, 2_000, 90);
    }
    run("sleep", 5_000, 9, 0, 1_500, 60);
    run("test-suite", 12_000, 1 << 8, 9_000, 900_000, 70);
    app.apply(Message::Events(events));
    app.tick(WallTime(T0 + 100 * SEC));
    press(&mut app, KeyCode::Char('c'));
    app
}

#[test]
fn commands_view_120x30() {
    let mut app = commands_app();
    insta::assert_snapshot!(render(&mut app, 120, 30).backend());
}

#[test]
fn commands_view_narrow_keeps_name_runs_failed_cpu() {
    let mut app = commands_app();
    let terminal = render(&mut app, 60, 16);
    let text = format!("{}", terminal.backend());
    for title in ["COMMAND", "RUNS", "FAILED", "CPU"] {
        assert!(text.contains(title), "{title} missing:\n{text}");
    }
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn command_detail_has_histogram_rates_outcomes_parents_and_lines() {
    let mut app = commands_app();
    // the default order is CPU: test-suite, then cc1
    render(&mut app, 120, 34);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    let terminal = render(&mut app, 120, 34);
    let text = format!("{}", terminal.backend());
    for expected in [
        "<100ms",
        "≥10s",
        "runs/s, last 60 s",
        "exits  0: 40",
        "make 40 (of 40 runs seen)",
    ] {
        assert!(text.contains(expected), "{expected} missing:\n{text}");
    }
    insta::assert_snapshot!(terminal.backend());
}
