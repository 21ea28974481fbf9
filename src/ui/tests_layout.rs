//! Layout at the sizes people use (80x24, 160x45, the 60x16 minimum):
//! which columns yield, what stays, the finished title, END dates, the
//! detail pane's order and quoting.

use ratatui::backend::TestBackend;
use ratatui::crossterm::event::KeyCode;
use ratatui::Terminal;

use super::tests::{press, render};
use crate::app::fixtures::*;
use crate::app::{App, AppConfig, HostInfo};
use crate::event::{Drops, ExecStep, ProcessInfo, TraceEvent, WallTime};
use crate::source::Message;

fn app() -> App {
    let mut app = App::new(AppConfig {
        host: HostInfo {
            host: "buildbox".into(),
            kernel: "6.18.0".into(),
            boot: Some(WallTime(T0 - 3 * 86_400 * SEC)),
            source: "live".into(),
            utc_offset_secs: 0,
        },
        ..config()
    });
    app.tick(WallTime(T0 + 100 * SEC));
    app
}

/// A build: live make and rustc, finished processes among them a failed
/// exec, a killed one, one that exec'd twice, one from yesterday and one
/// whose last thread had another name; and dropped events.
fn build_app() -> App {
    let mut app = app();
    let mut rustc = process(1300, "rustc", 99);
    rustc.ppid = 1200;
    rustc.argv = [
        "rustc",
        "--crate-name",
        "syn",
        "--edition=2021",
        "--cfg",
        "feature=\"clone-impls\"",
        "--cfg",
        "feature=\"derive\"",
        "-C",
        "opt-level=3",
        "--out-dir",
        "target/release/deps",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    app.apply(Message::Snapshot(vec![
        ProcessInfo {
            uid: 0,
            ..process(1, "systemd", 0)
        },
        process(1200, "make", 90),
        rustc,
    ]));
    let mut nosuch = process(1201, "sh", 91);
    nosuch.ppid = 1200;
    nosuch.argv = vec!["sh".into(), "-c".into(), "nosuchcmd".into()];
    nosuch.history = vec![ExecStep {
        time: WallTime(T0 + 91 * SEC + 2_000_000),
        comm: "sh".into(),
        filename: "/usr/bin/nosuchcmd".into(),
        argv: vec!["nosuchcmd".into()],
        errno: Some(2),
        tried: vec!["/usr/local/bin/nosuchcmd".into()],
        attempts: 2,
        ..Default::default()
    }];
    let mut env = process(1202, "true", 92);
    env.ppid = 1200;
    env.exec_time = WallTime(T0 + 92 * SEC + 1_000_000);
    env.history = vec![ExecStep {
        time: WallTime(T0 + 92 * SEC),
        comm: "env".into(),
        filename: "/usr/bin/env".into(),
        argv: vec!["env".into(), "MARKER=zebra123".into(), "true".into()],
        ..Default::default()
    }];
    let mut threaded = exit(process(1203, "server", 93), 2_000, 9);
    threaded.exit_comm = "zzworker".into();
    let mut yesterday = process(1100, "backup", 93);
    yesterday.start = WallTime(yesterday.start.0 - 86_400 * SEC);
    yesterday.exec_time = yesterday.start;
    let mut events = vec![
        TraceEvent::Exit(exit(nosuch, 4, 127 << 8)),
        TraceEvent::Exit(exit(env, 2, 0)),
        TraceEvent::Exit(threaded),
        TraceEvent::Exit(exit(yesterday, 1_000, 0)),
    ];
    events.push(TraceEvent::Lost {
        time: WallTime(T0),
        drops: Drops {
            exec_ringbuf: 1234,
            exit_ringbuf: 56,
            pid_map_full: 7,
            ..Default::default()
        },
    });
    app.apply(Message::Events(events));
    app
}

fn screen(terminal: &Terminal<TestBackend>) -> Vec<String> {
    let buffer = terminal.backend().buffer();
    (0..buffer.area.height)
        .map(|y| {
            (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect()
        })
        .collect()
}

fn line_index(lines: &[String], text: &str) -> usize {
    lines
        .iter()
        .position(|l| l.contains(text))
        .unwrap_or_else(|| panic!("{text:?} not on screen:\n{}", lines.join("\n")))
}

fn line_with<'a>(lines: &'a [String], text: &str) -> &'a str {
    lines
        .iter()
        .find(|l| l.contains(text))
        .unwrap_or_else(|| panic!("{text:?} not on screen:\n{}", lines.join("\n")))
}

#[test]
fn at_80x24_command_exit_and_drops_stay() {
    let mut app = build_app();
    let terminal = render(&mut app, 80, 24);
    let lines = screen(&terminal);
    let head = line_with(&lines, "END▼");
    for title in ["COMMAND", "EXIT", "DURATION", "COMM"] {
        assert!(head.contains(title), "{title} missing: {head}");
    }
    // the first to yield
    assert!(!head.contains("PPID") && !head.contains("USER"), "{head}");
    // the whole drop counter, wrapped rather than cut
    line_with(&lines, "drops");
    line_with(&lines, "1297 (ring 1234+56, map 7)");
    // a failed exec reads `127 … ENOENT nosuchcmd`
    let row = line_with(&lines, "ENOENT nosuchcmd");
    assert!(row.contains(" 127 "), "{row}");
    // the process's name, not its last thread's
    assert!(line_with(&lines, "SIGKILL").contains("server"));
    assert!(!lines.iter().any(|l| l.contains("zzworker")));
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn at_60x16_no_title_is_cut() {
    let mut app = build_app();
    let terminal = render(&mut app, 60, 16);
    let lines = screen(&terminal);
    let head = line_with(&lines, "END▼");
    for title in ["DURATION", "EXIT", "COMMAND"] {
        assert!(head.contains(title), "{title} cut: {head}");
    }
    let live = line_with(&lines, "PID▲");
    assert!(live.contains("COMMAND") && live.contains("AGE"), "{live}");
    line_with(&lines, "ENOENT nosuch");
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn at_160x45_every_column_shows_and_end_has_its_date_when_not_today() {
    let mut app = build_app();
    let terminal = render(&mut app, 160, 45);
    let lines = screen(&terminal);
    let head = line_with(&lines, "END▼");
    for title in ["PPID", "USER", "COMMAND"] {
        assert!(head.contains(title), "{head}");
    }
    assert!(line_with(&lines, "backup").contains("2023-11-13 22:14:54.000"));
    // today's rows show the time alone
    let today = line_with(&lines, "nosuchcmd");
    assert!(
        today.contains("22:14:51.004") && !today.contains("2023-"),
        "{today}"
    );
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn end_drops_its_date_before_command_shrinks() {
    let mut app = build_app();
    let lines = screen(&render(&mut app, 80, 24));
    let row = line_with(&lines, "backup");
    assert!(
        row.contains("22:14:54.000") && !row.contains("2023-11-13"),
        "{row}"
    );
}

#[test]
fn an_empty_live_table_gives_its_rows_to_finished() {
    let mut app = app();
    app.apply(Message::Events(
        (1..=30)
            .map(|pid| TraceEvent::Exit(exit(process(pid, "job", pid as u64), 10, 0)))
            .collect(),
    ));
    let lines = screen(&render(&mut app, 80, 24));
    let live_top = line_index(&lines, "Live 0");
    let finished_top = line_index(&lines, "Finished 30");
    // borders, header and the empty-state line
    assert_eq!(finished_top - live_top, 4, "{}", lines.join("\n"));
    line_with(&lines, "no live processes known yet");
    let rows = lines.iter().filter(|l| l.contains("job --arg")).count();
    assert_eq!(rows, 24 - 3 - 1 - 4 - 3, "{}", lines.join("\n"));
}

#[test]
fn position_shows_below_the_top() {
    let mut app = build_app();
    let lines = screen(&render(&mut app, 80, 24));
    line_with(&lines, "following");
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    let lines = screen(&render(&mut app, 80, 24));
    line_with(&lines, "row 3/4");
    assert!(!lines.iter().any(|l| l.contains("following")));
}

#[test]
fn the_title_says_from_when_a_lower_min_duration_applies() {
    let mut app = build_app();
    app.apply(Message::MinDuration(std::time::Duration::from_secs(1)));
    let lines = screen(&render(&mut app, 80, 24));
    let title = line_with(&lines, "Finished");
    assert!(
        title.contains("Finished 2 ≥ 1s") && !title.contains("since"),
        "{title}"
    );
    app.tick(WallTime(T0 + 130 * SEC));
    app.apply(Message::MinDuration(std::time::Duration::from_millis(100)));
    let lines = screen(&render(&mut app, 80, 24));
    let title = line_with(&lines, "Finished");
    assert!(
        title.contains("Finished 2 ≥ 100ms since 22:15:30"),
        "{title}"
    );
    app.apply(Message::MinDuration(std::time::Duration::ZERO));
    let lines = screen(&render(&mut app, 80, 24));
    let title = line_with(&lines, "Finished");
    assert!(title.contains("Finished 4 all since 22:15:30"), "{title}");
}

/// Selects the finished row of `pid` and opens the detail pane.
fn open_detail(app: &mut App, pid: u32, width: u16, height: u16) {
    render(app, width, height);
    for _ in 0..10 {
        let at = app
            .tables
            .finished
            .view
            .selected_key()
            .and_then(|s| app.finished_row(s))
            .map(|r| r.exit.process.pid);
        if at == Some(pid) {
            break;
        }
        press(app, KeyCode::Down);
    }
    press(app, KeyCode::Enter);
}

#[test]
fn detail_lists_every_exec_and_failure() {
    let mut app = build_app();
    open_detail(&mut app, 1201, 160, 45);
    let terminal = render(&mut app, 160, 45);
    let lines = screen(&terminal);
    line_with(&lines, "last exec  failed: ENOENT nosuchcmd");
    let exec = lines
        .iter()
        .position(|l| l.contains("exec  22:14:51.000  /usr/bin/sh  (current)"));
    let failed = lines
        .iter()
        .position(|l| l.contains("failed  22:14:51.002  ENOENT /usr/bin/nosuchcmd (2 attempts)"));
    assert!(exec.is_some() && exec < failed, "{}", lines.join("\n"));
    line_with(&lines, "tried  /usr/local/bin/nosuchcmd");
    insta::assert_snapshot!(terminal.backend());

    let mut app = build_app();
    open_detail(&mut app, 1202, 160, 45);
    let lines = screen(&render(&mut app, 160, 45));
    let env = line_index(&lines, "/usr/bin/env");
    let current = line_index(&lines, "(current)");
    assert!(env < current);
    line_with(&lines, "env MARKER=zebra123 true");

    let mut app = build_app();
    open_detail(&mut app, 1203, 160, 45);
    let lines = screen(&render(&mut app, 160, 45));
    line_with(
        &lines,
        "thread  zzworker (the thread that ended the process)",
    );
    line_with(&lines, "ended  2023-11-14 22:14:55.000");
}

#[test]
fn detail_shows_fixed_fields_first_and_scrolls_to_quoted_argv() {
    let mut app = build_app();
    render(&mut app, 80, 24);
    // Finished, Commands, then Live
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    // the live table sorts by pid: rustc is the last row
    press(&mut app, KeyCode::End);
    press(&mut app, KeyCode::Enter);
    let terminal = render(&mut app, 80, 24);
    let lines = screen(&terminal);
    line_with(&lines, "pid  1300");
    line_with(&lines, "started  2023-11-14 22:14:59.000");
    assert!(!lines.iter().any(|l| l.contains("clone-impls")));
    for _ in 0..20 {
        press(&mut app, KeyCode::Down);
    }
    let terminal = render(&mut app, 80, 24);
    let lines = screen(&terminal);
    line_with(&lines, r#"'feature="clone-impls"'"#);
    assert!(!lines.iter().any(|l| l.contains("pid  1300")));
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn detail_says_when_the_kernel_kept_no_record() {
    let mut app = build_app();
    let mut p = process(1400, "sleep", 100);
    p.not_kept = true;
    app.apply(Message::Events(vec![TraceEvent::Exit(exit(p, 5, 0))]));
    open_detail(&mut app, 1400, 160, 45);
    let lines = screen(&render(&mut app, 160, 45));
    line_with(&lines, "record  not in the kernel's pid map (it was full)");
}

#[test]
fn cpu_and_rss_columns_and_the_detail_pane_show_what_a_process_used() {
    let mut app = build_app();
    let mut e = exit(process(1500, "cc1", 100), 300, 0);
    e.usage = Some(crate::event::Usage {
        cpu_user_ns: 200_000_000,
        cpu_system_ns: 100_000_000,
        max_rss_kib: 200 * 1024,
        minor_faults: 51_256,
        major_faults: 2,
        read_bytes: Some(0),
        write_bytes: Some(20 << 20),
        voluntary_switches: 3,
        involuntary_switches: 14,
    });
    app.apply(Message::Events(vec![TraceEvent::Exit(e)]));
    open_detail(&mut app, 1500, 160, 45);
    let lines = screen(&render(&mut app, 160, 45));
    let row = line_with(&lines, "cc1 --arg1500");
    assert!(row.contains("300.0ms") && row.contains("200M"), "{row}");
    line_with(&lines, "cpu  300.0ms (user 200.0ms, system 100.0ms)");
    line_with(&lines, "max rss  200M");
    line_with(&lines, "faults  51256 minor, 2 major");
    line_with(&lines, "written  20.0M");
    line_with(&lines, "switches  3 voluntary, 14 involuntary");
}
