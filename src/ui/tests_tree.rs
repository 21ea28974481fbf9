//! Render snapshots of the tree view: a build under a shell, its 40
//! compiler runs on one group line, closed and open, at two sizes.

use ratatui::crossterm::event::KeyCode;

use super::tests::{press, render};
use crate::app::fixtures::*;
use crate::app::{App, AppConfig, HostInfo};
use crate::event::{ExitInfo, ProcessInfo, TraceEvent, Usage, WallTime};
use crate::source::Message;

fn born(pid: u32, ppid: u32, comm: &str, start_ms: u64) -> ProcessInfo {
    let mut p = process(pid, comm, 0);
    p.ppid = ppid;
    p.start = WallTime(T0 + start_ms * 1_000_000);
    p.exec_time = p.start;
    p.start_boot_ns = start_ms * 1_000_000 + 1;
    p
}

fn ran(p: ProcessInfo, ms: u64, status: u32, cpu_ms: u64) -> TraceEvent {
    let mut e: ExitInfo = exit(p, ms, status);
    e.usage = Some(Usage {
        cpu_user_ns: cpu_ms * 1_000_000,
        ..Default::default()
    });
    TraceEvent::Exit(e)
}

/// bash (live) ran `make -j4` (live), which ran 40 cc1 (3 failed), 2 as,
/// a linker still running, and a script whose subshell's child outlived
/// it; and a name a process chose to clear the screen with.
fn build_app() -> App {
    let mut app = App::new(AppConfig {
        host: HostInfo {
            host: "buildbox".into(),
            kernel: "6.18.0".into(),
            source: "live".into(),
            ..Default::default()
        },
        ..config()
    });
    app.tick(WallTime(T0 + 100 * SEC));
    let mut bash = born(980, 1, "bash", 0);
    bash.argv = vec!["-bash".into()];
    let mut make = born(1200, 980, "make", 1_000);
    make.argv = vec!["make".into(), "-j4".into()];
    app.apply(Message::Snapshot(vec![bash, make.clone()]));
    let mut events = vec![TraceEvent::Exec(make)];
    for i in 0..40u32 {
        let mut cc = born(1300 + i, 1200, "cc1", 2_000 + u64::from(i) * 50);
        cc.argv = vec!["cc1".into(), "-quiet".into(), format!("src/file{i}.c")];
        let status = if i % 13 == 5 { 1 << 8 } else { 0 };
        events.push(ran(cc, 400 + u64::from(i) * 10, status, 300 + u64::from(i)));
    }
    for i in 0..2u32 {
        let mut asm = born(1400 + i, 1200, "as", 5_000 + u64::from(i));
        asm.argv = vec!["as".into(), format!("file{i}.s")];
        events.push(ran(asm, 20, 0, 10));
    }
    let mut ld = born(1500, 1200, "ld", 9_000);
    ld.argv = vec!["ld".into(), "-o".into(), "app".into()];
    events.push(TraceEvent::Exec(ld));
    // a script whose subshell started a child and ended before it
    let mut script = born(1600, 980, "sh", 20_000);
    script.argv = vec!["sh".into(), "deploy.sh".into()];
    let sub = born(1601, 1600, "sh", 20_100);
    let mut sleeper = born(1602, 1601, "sleep", 20_200);
    sleeper.argv = vec!["sleep".into(), "600".into()];
    let mut evil = born(1603, 1600, "x", 20_300);
    evil.comm = crate::sanitize::c_string(b"evil\x1b[2J\0");
    evil.argv = crate::sanitize::argv(b"evil\x1b[2J\0--now\x07\0");
    events.extend([
        TraceEvent::Exec(sleeper.clone()),
        ran(sub, 300, 0, 2),
        ran(evil, 5, 2 << 8, 1),
    ]);
    app.apply(Message::Events(events));
    // the kernel's next snapshot: init adopted the sleeper
    let mut adopted = sleeper;
    adopted.ppid = 1;
    let mut bash = born(980, 1, "bash", 0);
    bash.argv = vec!["-bash".into()];
    let mut make = born(1200, 980, "make", 1_000);
    make.argv = vec!["make".into(), "-j4".into()];
    let mut ld = born(1500, 1200, "ld", 9_000);
    ld.argv = vec!["ld".into(), "-o".into(), "app".into()];
    let mut script = born(1600, 980, "sh", 20_000);
    script.argv = vec!["sh".into(), "deploy.sh".into()];
    app.apply(Message::Snapshot(vec![bash, make, ld, script, adopted]));
    press(&mut app, KeyCode::Char('t'));
    app
}

fn text(app: &mut App, width: u16, height: u16) -> String {
    format!("{}", render(app, width, height).backend())
}

#[test]
fn tree_120x30_with_the_group_closed() {
    let mut app = build_app();
    let screen = text(&mut app, 120, 30);
    for expected in [
        "▾ -bash",
        "├─▾ make -j4",
        "│ ├─▸ cc1 ×40  (3 failed, 12.78s CPU)",
        // the sleeper stays under the subshell it was born to
        "  ├─▾ sh --arg1601",
        "  │ └── sleep 600",
        "└── evil\\x1b[2J --now\\x07",
        "running",
    ] {
        assert!(screen.contains(expected), "{expected} missing:\n{screen}");
    }
    assert!(
        !screen.contains('\x1b'),
        "a control character reached the screen"
    );
    insta::assert_snapshot!(render(&mut app, 120, 30).backend());
}

#[test]
fn tree_120x30_with_the_group_open() {
    let mut app = build_app();
    render(&mut app, 120, 30);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Right);
    let screen = text(&mut app, 120, 30);
    assert!(screen.contains("│ ├─▾ cc1 ×40"), "{screen}");
    assert!(
        screen.contains("│ │ ├── cc1 -quiet src/file0.c"),
        "{screen}"
    );
    insta::assert_snapshot!(render(&mut app, 120, 30).backend());
}

#[test]
fn tree_80x24_keeps_totals_exit_and_command() {
    let mut app = build_app();
    let screen = text(&mut app, 80, 24);
    for title in ["PID", "PROCS", "FAILED", "DURATION", "EXIT", "COMMAND"] {
        assert!(screen.contains(title), "{title} missing:\n{screen}");
    }
    insta::assert_snapshot!(render(&mut app, 80, 24).backend());
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Char('l'));
    insta::assert_snapshot!("tree_80x24_group_open", render(&mut app, 80, 24).backend());
}

#[test]
fn tree_detail_pane_shows_the_current_parent() {
    let mut app = build_app();
    render(&mut app, 120, 40);
    press(&mut app, KeyCode::End);
    press(&mut app, KeyCode::Up);
    press(&mut app, KeyCode::Enter);
    let screen = text(&mut app, 120, 40);
    assert!(screen.contains(" sleep pid 1602 "), "{screen}");
    assert!(screen.contains("ppid  1 "), "{screen}");
}

#[test]
fn tree_detail_pane_of_a_group_adds_up_its_runs() {
    let mut app = build_app();
    render(&mut app, 120, 40);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    let screen = text(&mut app, 120, 40);
    for expected in [
        "runs  40 of cc1 (parent pid 1200)",
        "subtree  40 processes, 3 failed, 0 running",
        "cpu  12.78s",
    ] {
        assert!(screen.contains(expected), "{expected} missing:\n{screen}");
    }
}
