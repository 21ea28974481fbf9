//! End to end, input: Esc and the prompts in the real binary, in a real
//! terminal (tmux), replaying a small recording.

mod common;

use std::time::Duration;

use common::Tmux;
use tracer_tui::event::{ExitInfo, ExitStatus, Origin, ProcessInfo, TraceEvent, WallTime};
use tracer_tui::record;

const WAIT: Duration = Duration::from_secs(15);

/// A recording: `sleep 3601` and `sleep 77` still running, a `make` that
/// failed with 2 and a `true` that succeeded, all within half a second.
fn replay_file(dir: &std::path::Path) -> std::path::PathBuf {
    let t0 = 1_700_000_000_000_000_000u64;
    let ms = 1_000_000u64;
    let proc = |pid: u32, argv: &[&str], start: u64| ProcessInfo {
        pid,
        ppid: 1,
        uid: 0,
        comm: argv[0].into(),
        filename: format!("/usr/bin/{}", argv[0]),
        argv: argv.iter().map(|a| a.to_string()).collect(),
        start: WallTime(start),
        exec_time: WallTime(start),
        origin: Origin::Exec,
        ..Default::default()
    };
    let exit = |p: ProcessInfo, status: u32| {
        TraceEvent::Exit(ExitInfo {
            exit_comm: p.comm.clone(),
            end: WallTime(p.start.0 + 100 * ms),
            duration_ns: 100 * ms,
            status: ExitStatus(status),
            usage: None,
            process: p,
        })
    };
    let events = [
        TraceEvent::Exec(proc(3001, &["sleep", "3601"], t0)),
        TraceEvent::Exec(proc(3002, &["sleep", "77"], t0 + 10 * ms)),
        exit(proc(3003, &["make", "all"], t0 + 20 * ms), 2 << 8),
        exit(proc(3004, &["true", "ok"], t0 + 30 * ms), 0),
    ];
    let text: String = events.iter().map(|e| record::to_line(e) + "\n").collect();
    let path = dir.join("input.ndjson");
    std::fs::write(&path, text).expect("write replay file");
    path
}

/// The dashboard replaying the recording to its end, in a tmux pane.
fn start(name: &str) -> (Tmux, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = replay_file(dir.path());
    let cmd = format!(
        "{} --replay {}; echo TRACER-EXIT=$?",
        common::bin(),
        path.display()
    );
    let tmux = Tmux::start(name, 100, 30, &cmd);
    tmux.wait_for("replay finished", WAIT);
    (tmux, dir)
}

/// Table rows (inside a border) that show `needle`.
fn rows(screen: &str, needle: &str) -> usize {
    screen
        .lines()
        .filter(|l| l.starts_with('│') && l.contains(needle))
        .count()
}

/// The prompt's line: the bottom line of the screen.
fn prompt_line(tmux: &Tmux) -> String {
    tmux.screen()
        .lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .to_string()
}

fn cursor(tmux: &Tmux) -> (usize, usize) {
    let at = tmux.run(&["display", "-p", "#{cursor_x} #{cursor_y}"]);
    let mut parts = at.split_whitespace().map(|n| n.parse().expect("a number"));
    (
        parts.next().expect("cursor x"),
        parts.next().expect("cursor y"),
    )
}

#[test]
fn esc_closes_help_detail_and_search_before_it_quits() {
    let (tmux, _dir) = start("esc");
    tmux.keys(&["/"]);
    tmux.wait_for("Search:", WAIT);
    tmux.text("sleep 3601");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("search \"sleep 3601\"", WAIT);
    // the whole command line, as one string
    assert_eq!(rows(&screen, "sleep 3601"), 1, "{screen}");
    assert_eq!(rows(&screen, "sleep 77"), 0, "{screen}");
    assert!(
        screen.contains(" Filter "),
        "the footer shows it:\n{screen}"
    );

    // Finished, Commands, then Live
    tmux.keys(&["Tab", "Tab", "Enter"]);
    tmux.wait_for("pid 3001", WAIT);
    tmux.keys(&["?"]);
    tmux.wait_for(" Keys ", WAIT);

    // help closes; the detail pane and search stay
    tmux.keys(&["Escape"]);
    let screen = tmux.wait_until("help to close", WAIT, |s| !s.contains(" Keys "));
    assert!(screen.contains("pid 3001") && screen.contains("search \""));
    // then the detail pane
    tmux.keys(&["Escape"]);
    let screen = tmux.wait_until("the detail pane to close", WAIT, |s| {
        !s.contains("pid 3001")
    });
    assert!(screen.contains("search \"sleep 3601\""), "{screen}");
    // then the search
    tmux.keys(&["Escape"]);
    let screen = tmux.wait_until("the search to clear", WAIT, |s| !s.contains("search \""));
    assert_eq!(rows(&screen, "sleep 77"), 1, "{screen}");
    assert!(tmux.alternate_screen(), "Esc quit with a search in force");
    // nothing open: Esc quits, and the shell is back
    tmux.keys(&["Escape"]);
    tmux.wait_for("TRACER-EXIT=0", WAIT);
    assert!(!tmux.alternate_screen());
}

#[test]
fn esc_in_a_prompt_cancels_it_and_q_quits_with_a_search() {
    let (tmux, _dir) = start("esc-prompt");
    tmux.keys(&["/"]);
    tmux.text("make");
    tmux.keys(&["Enter"]);
    tmux.wait_for("search \"make\"", WAIT);
    tmux.keys(&["/"]);
    tmux.wait_for("Search:", WAIT);
    tmux.text("true");
    tmux.wait_for("search \"true\"", WAIT);
    tmux.keys(&["Escape"]);
    let screen = tmux.wait_for("search \"make\"", WAIT);
    assert!(!screen.contains("Search:"), "prompt still open:\n{screen}");
    assert!(tmux.alternate_screen());
    tmux.keys(&["q"]);
    tmux.wait_for("TRACER-EXIT=0", WAIT);
}

#[test]
fn prompts_replace_the_old_value_and_edit_the_line() {
    let (tmux, _dir) = start("prompt");
    // Ctrl-U clears, and inserts no "u"
    tmux.keys(&["d"]);
    tmux.wait_for("Min duration (", WAIT);
    tmux.keys(&["End", "C-u"]);
    tmux.text("150ms");
    tmux.keys(&["Enter"]);
    tmux.wait_for("min duration 150ms", WAIT);
    // the old value is selected: typing replaces it (once "150ms" + "2s"
    // made "150ms2s", shown as "2s 150ms")
    tmux.keys(&["d"]);
    tmux.wait_for("Min duration (", WAIT);
    tmux.text("2s");
    tmux.keys(&["Enter"]);
    tmux.wait_until("min duration 2s", WAIT, |s| {
        s.lines()
            .any(|l| l.starts_with(" min duration 2s") && !l.contains("150ms"))
    });

    // the search prompt: arrows move the cursor, typing goes there
    tmux.keys(&["/"]);
    tmux.wait_for("Search:", WAIT);
    tmux.text("sleep");
    tmux.keys(&["Left", "Left"]);
    tmux.wait_until("the cursor to move left", WAIT, |_| {
        let line = prompt_line(&tmux);
        let (x, _) = cursor(&tmux);
        line.find("sleep")
            .is_some_and(|i| line[..i].chars().count() + 3 == x)
    });
    tmux.text("X");
    tmux.wait_for("Search:  sleXep", WAIT);
    tmux.keys(&["Home", "DC", "End", "BSpace"]);
    tmux.wait_for("Search:  leXe ", WAIT);
    // Ctrl-W deletes a word
    tmux.text(" 3601");
    tmux.wait_for("Search:  leXe 3601", WAIT);
    tmux.keys(&["C-w"]);
    tmux.wait_for("Search:  leXe  ", WAIT);
    tmux.keys(&["C-u"]);
    tmux.text("sleep 77");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("search \"sleep 77\"", WAIT);
    assert_eq!(rows(&screen, "sleep 3601"), 0, "{screen}");
    tmux.keys(&["q"]);
    tmux.wait_for("TRACER-EXIT=0", WAIT);
}

#[test]
fn search_terms_and_their_errors() {
    let (tmux, _dir) = start("terms");
    tmux.keys(&["/"]);
    tmux.wait_for("Search:", WAIT);
    tmux.text("exit:!0");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("search \"exit:!0\"", WAIT);
    assert_eq!(rows(&screen, "make all"), 1, "{screen}");
    assert_eq!(rows(&screen, "true ok"), 0, "{screen}");
    assert_eq!(rows(&screen, "sleep 3601"), 0, "{screen}");

    // a bare number finds the pid
    tmux.keys(&["/"]);
    tmux.text("3002");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("search \"3002\"", WAIT);
    assert_eq!(rows(&screen, "sleep 77"), 1, "{screen}");
    assert_eq!(rows(&screen, "sleep 3601"), 0, "{screen}");

    // an invalid term is an error, and Enter does not take it
    tmux.keys(&["/"]);
    tmux.text("pid:abc");
    tmux.wait_for("pid: needs a number", WAIT);
    tmux.keys(&["Enter"]);
    std::thread::sleep(Duration::from_millis(300));
    let screen = tmux.screen();
    assert!(screen.contains("Search:"), "{screen}");
    assert!(!screen.contains("search \"pid:abc\""), "{screen}");
    tmux.keys(&["C-c"]);
    tmux.wait_for("TRACER-EXIT=0", WAIT);
}
