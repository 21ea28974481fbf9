//! End to end: the real binary in a real terminal (tmux), keys sent, the
//! screen read back as a person would see it.

mod common;

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::Tmux;
use tracer_tui::event::{Origin, ProcessInfo, TraceEvent};
use tracer_tui::record;

const WAIT: Duration = Duration::from_secs(15);

fn unique(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "e2e{tag}{}x{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn row_with<'a>(screen: &'a str, needle: &str) -> Option<&'a str> {
    screen.lines().find(|l| l.contains(needle))
}

/// Sets the min duration through the `d` prompt, as a person would.
fn set_min_duration(tmux: &Tmux, text: &str) {
    tmux.keys(&["d"]);
    tmux.wait_for("Min duration (", WAIT);
    tmux.keys(&["BSpace"; 12]);
    tmux.text(text);
    tmux.keys(&["Enter"]);
    tmux.wait_for(&format!("min duration {text}"), WAIT);
}

fn search(tmux: &Tmux, text: &str) {
    tmux.keys(&["/"]);
    tmux.text(text);
    tmux.keys(&["Enter"]);
    tmux.wait_for(&format!("search \"{text}\""), WAIT);
}

fn quit_and_check_shell(tmux: &Tmux) {
    tmux.keys(&["q"]);
    tmux.wait_for("TRACER-EXIT=0", WAIT);
    assert!(
        !tmux.alternate_screen(),
        "still on the alternate screen after q"
    );
}

#[test]
fn kernel_dashboard_end_to_end() {
    let Some(_serial) = common::bpf_test("kernel_dashboard_end_to_end") else {
        return;
    };
    let marker = unique("k");
    let tmux = Tmux::start(
        "kernel",
        120,
        40,
        &format!("{}; echo TRACER-EXIT=$?", common::bin()),
    );
    tmux.wait_for("Finished", WAIT);
    assert!(tmux.alternate_screen());

    // a short, uniquely named process, with its exit code
    search(&tmux, &marker);
    let code = Command::new("sh")
        .args(["-c", "exit $CODE", &format!("{marker}-code")])
        .env("CODE", "42")
        .status()
        .expect("sh");
    assert_eq!(code.code(), Some(42));
    tmux.wait_until("the exit-code row", WAIT, |s| {
        row_with(s, &format!("{marker}-code"))
            .is_some_and(|l| l.split_whitespace().any(|w| w == "42"))
    });

    // the min duration, set with keys, applied by the kernel
    set_min_duration(&tmux, "200ms");
    let short = format!("{marker}-short");
    let long = format!("{marker}-long");
    Command::new("bash")
        .args(["-c", "sleep 0.02; true", &short])
        .status()
        .expect("bash");
    Command::new("bash")
        .args(["-c", "sleep 0.5; true", &long])
        .status()
        .expect("bash");
    tmux.wait_until("the 500 ms process", WAIT, |s| row_with(s, &long).is_some());
    std::thread::sleep(Duration::from_millis(800));
    let screen = tmux.screen();
    assert!(
        row_with(&screen, &short).is_none(),
        "a 20 ms process passed a 200 ms filter:\n{screen}"
    );
    assert!(screen.contains("min duration 200ms"), "{screen}");
    assert!(
        screen.contains("Finished") && screen.contains("≥ 200ms"),
        "{screen}"
    );

    quit_and_check_shell(&tmux);
}

/// A recording with a process that exits 42 early on, then a 20 ms and a
/// 500 ms process four seconds later.
fn replay_file(dir: &std::path::Path, marker: &str) -> std::path::PathBuf {
    let t0 = 1_700_000_000_000_000_000u64;
    let ms = 1_000_000u64;
    let proc = |pid: u32, name: &str, start: u64| common::recorded(pid, name, start, marker);
    let exit = common::recorded_exit;
    let init = ProcessInfo {
        origin: Origin::Proc,
        ..proc(1, "init", t0 - 100_000 * ms)
    };
    let events = vec![
        TraceEvent::Exec(init),
        TraceEvent::Exec(proc(100, "starter", t0)),
        exit(proc(101, "code", t0 + 500 * ms), 5, 42 << 8),
        exit(proc(102, "short", t0 + 4_000 * ms), 20, 0),
        exit(proc(103, "long", t0 + 3_520 * ms), 500, 0),
        TraceEvent::Exec(proc(104, "tail", t0 + 6_000 * ms)),
    ];
    let mut events = events;
    events.sort_by_key(|e| {
        if matches!(e, TraceEvent::Exec(p) if p.origin == Origin::Proc) {
            0
        } else {
            e.time().0
        }
    });
    let text: String = events.iter().map(|e| record::to_line(e) + "\n").collect();
    let path = dir.join("replay.ndjson");
    std::fs::write(&path, text).expect("write replay file");
    path
}

fn replay_flow(prefix: &str, name: &str) {
    let marker = unique("r");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = replay_file(dir.path(), &marker);
    // readable by an unprivileged user too
    Command::new("chmod")
        .args(["-R", "a+rX"])
        .arg(dir.path())
        .status()
        .expect("chmod");
    let cmd = format!(
        "{prefix}{} --replay {}; echo TRACER-EXIT=$?",
        common::bin(),
        path.display()
    );
    let tmux = Tmux::start(name, 120, 40, &cmd);
    tmux.wait_for("Finished", WAIT);
    let screen = tmux.wait_until("the exit-code row", WAIT, |s| {
        row_with(s, &format!("{marker}-code"))
            .is_some_and(|l| l.split_whitespace().any(|w| w == "42"))
    });
    assert!(
        row_with(&screen, &format!("{marker}-starter")).is_some(),
        "live row missing:\n{screen}"
    );
    set_min_duration(&tmux, "200ms");
    let long = format!("{marker}-long");
    tmux.wait_until("the 500 ms process", WAIT, |s| row_with(s, &long).is_some());
    tmux.wait_for("replay finished", WAIT);
    let screen = tmux.screen();
    assert!(
        row_with(&screen, &format!("{marker}-short")).is_none(),
        "a 20 ms process passed a 200 ms filter:\n{screen}"
    );
    quit_and_check_shell(&tmux);
}

#[test]
fn replay_dashboard_end_to_end() {
    replay_flow("", "replay");
}

#[test]
fn replay_dashboard_as_an_unprivileged_user() {
    if !common::require_bpf("replay_dashboard_as_an_unprivileged_user (needs root to switch user)")
    {
        return;
    }
    replay_flow(
        "setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all ",
        "replay-nobody",
    );
}

#[test]
fn record_then_replay() {
    let Some(_serial) = common::bpf_test("record_then_replay") else {
        return;
    };
    let marker = unique("rec");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("rec.ndjson");
    let cmd = format!(
        "{} --record {}; echo TRACER-EXIT=$?",
        common::bin(),
        file.display()
    );
    let tmux = Tmux::start("record", 120, 40, &cmd);
    tmux.wait_for("Finished", WAIT);
    search(&tmux, &marker);
    Command::new("sh")
        .args(["-c", "exit 3", &marker])
        .status()
        .expect("sh");
    let row = format!("sh -c exit 3 {marker}");
    tmux.wait_until("the recorded process", WAIT, |s| {
        row_with(s, &row).is_some()
    });
    quit_and_check_shell(&tmux);
    drop(tmux);

    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        std::fs::metadata(&file).expect("recording").mode() & 0o777,
        0o600
    );
    let text = std::fs::read_to_string(&file).expect("recording");
    assert!(text
        .lines()
        .any(|l| l.contains(&marker) && l.contains("\"exit_code\":3")));
    assert!(
        text.lines().any(|l| l.contains("\"origin\":\"proc\"")),
        "running processes not recorded"
    );

    let cmd = format!(
        "{} --replay {} --speed 100; echo TRACER-EXIT=$?",
        common::bin(),
        file.display()
    );
    let tmux = Tmux::start("record-replay", 120, 40, &cmd);
    tmux.wait_for("Finished", WAIT);
    search(&tmux, &marker);
    tmux.wait_until("the replayed process", WAIT, |s| {
        row_with(s, &row).is_some_and(|l| l.contains(" 3 "))
    });
    quit_and_check_shell(&tmux);
}

/// The dashboard replaying a fresh recording in a tmux pane; the recording
/// lives as long as the returned directory.
fn replay_in_tmux(
    name: &str,
    size: (u16, u16),
    env: &str,
) -> (Tmux, tempfile::TempDir, std::path::PathBuf) {
    let marker = unique(name);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = replay_file(dir.path(), &marker);
    let cmd = format!(
        "{env}{} --replay {}; echo TRACER-EXIT=$?",
        common::bin(),
        path.display()
    );
    (Tmux::start(name, size.0, size.1, &cmd), dir, path)
}

#[test]
fn terminal_is_restored_on_sigterm_and_panic() {
    let (tmux, _dir, path) = replay_in_tmux("sigterm", (120, 40), "");
    tmux.wait_for("Finished", WAIT);
    assert!(tmux.alternate_screen());
    let killed = Command::new("pkill")
        .args(["-TERM", "-f", &format!("replay {}", path.display())])
        .status();
    assert!(killed.expect("pkill").success());
    tmux.wait_for("TRACER-EXIT=0", WAIT);
    assert!(!tmux.alternate_screen());
    drop(tmux);

    let (tmux, _dir, _) = replay_in_tmux("panic", (120, 40), "TRACER_TUI_TEST_PANIC=1 ");
    let screen = tmux.wait_for("TRACER-EXIT=101", WAIT);
    assert!(screen.contains("TRACER_TUI_TEST_PANIC is set"), "{screen}");
    assert!(!tmux.alternate_screen());
    // the terminal is usable: the shell echoes what is typed
    tmux.type_line("echo cooked-$((40+2))");
    tmux.wait_for("cooked-42", WAIT);
}

#[test]
fn too_small_then_resized() {
    let (tmux, _dir, _) = replay_in_tmux("small", (50, 12), "");
    tmux.wait_for("Terminal too small", WAIT);
    tmux.resize(120, 40);
    tmux.wait_for("Finished", WAIT);
    quit_and_check_shell(&tmux);
}

/// An SGR mouse report, as a terminal sends it (1-based column and row).
fn mouse(tmux: &Tmux, button: u8, column: u16, row: u16) {
    tmux.text(&format!(
        "\x1b[<{button};{column};{row}M\x1b[<{button};{column};{row}m"
    ));
}

#[test]
fn mouse_sorts_selects_and_scrolls() {
    let (tmux, _dir, _) = replay_in_tmux("mouse", (120, 40), "");
    let screen = tmux.wait_for("replay finished", WAIT);
    let lines: Vec<&str> = screen.lines().collect();
    let header = lines
        .iter()
        .position(|l| l.contains("END▼"))
        .expect("finished header");
    let column = lines[header].find("DURATION").expect("DURATION title");
    let x = lines[header][..column].chars().count() as u16 + 1;
    let y = header as u16 + 1;

    // a click on a title sorts by it, a second click reverses
    mouse(&tmux, 0, x + 2, y);
    let screen = tmux.wait_for("DURATION▼", WAIT);
    let rows: Vec<&str> = screen.lines().skip(header + 1).take(3).collect();
    assert!(rows[0].contains("500.0ms"), "longest first:\n{screen}");
    mouse(&tmux, 0, x + 2, y);
    tmux.wait_for("DURATION▲", WAIT);

    // a click on the third row selects it; Enter shows that process
    let third_row = tmux
        .screen()
        .lines()
        .nth(header + 3)
        .expect("third row")
        .to_string();
    mouse(&tmux, 0, 5, y + 3);
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_until("the detail pane", WAIT, |s| {
        s.contains(" pid ") && s.contains("duration")
    });
    let detail = screen
        .lines()
        .find(|l| l.contains(" pid "))
        .expect("detail title")
        .to_string();
    let pid = third_row.split_whitespace().nth(2).expect("pid column");
    assert!(
        detail.contains(&format!("pid {pid}")),
        "{detail} vs {third_row}"
    );

    // the wheel moves the selection (up: the third row is the last)
    mouse(&tmux, 64, 5, y + 2);
    tmux.wait_until("the selection to move", WAIT, |s| {
        s.lines()
            .find(|l| l.contains(" pid "))
            .is_some_and(|l| l != detail)
    });
    quit_and_check_shell(&tmux);
}
