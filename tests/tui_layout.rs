//! End to end at 80x24: the real binary in tmux, replaying a recording,
//! must keep COMMAND, EXIT and the drop counter on screen, and show a
//! failed exec as `127 … ENOENT nosuchcmd`.

mod common;

use std::time::Duration;

use common::Tmux;
use tracer_tui::event::{Drops, FailedExec, Origin, ProcessInfo, TraceEvent, WallTime};
use tracer_tui::record;

const WAIT: Duration = Duration::from_secs(15);

/// A recording: a running shell, a process that exits 42, drops, and a
/// shell whose exec of `nosuchcmd` failed twice before it exited 127.
fn recording(dir: &std::path::Path, marker: &str) -> std::path::PathBuf {
    let t0 = 1_700_000_000_000_000_000u64;
    let ms = 1_000_000u64;
    let proc = |pid: u32, name: &str, start: u64| common::recorded(pid, name, start, marker);
    let exit = common::recorded_exit;
    let shell = proc(300, "sh", t0 + 600 * ms);
    let failed = |path: &str, at: u64| {
        TraceEvent::ExecFailed(FailedExec {
            pid: 300,
            ppid: 1,
            comm: "sh".into(),
            filename: path.into(),
            argv: vec!["nosuchcmd".into()],
            errno: 2,
            time: WallTime(t0 + at * ms),
            start: shell.start,
            ..Default::default()
        })
    };
    let events = [
        TraceEvent::Exec(ProcessInfo {
            origin: Origin::Proc,
            ..proc(1, "init", t0 - 100_000 * ms)
        }),
        TraceEvent::Exec(proc(100, "starter", t0)),
        exit(proc(101, "code", t0 + 500 * ms), 5, 42 << 8),
        TraceEvent::Lost {
            time: WallTime(t0 + 550 * ms),
            drops: Drops {
                exec_ringbuf: 1234,
                exit_ringbuf: 56,
                pid_map_full: 7,
                ..Default::default()
            },
        },
        TraceEvent::Exec(shell.clone()),
        failed("/usr/local/bin/nosuchcmd", 601),
        failed("/usr/bin/nosuchcmd", 602),
        exit(shell, 3, 127 << 8),
    ];
    let text: String = events.iter().map(|e| record::to_line(e) + "\n").collect();
    let path = dir.join("layout.ndjson");
    std::fs::write(&path, text).expect("write the recording");
    path
}

#[test]
fn at_80x24_command_exit_and_drops_stay_visible() {
    let marker = format!("lay{}", std::process::id());
    let dir = tempfile::tempdir().expect("tempdir");
    let path = recording(dir.path(), &marker);
    let cmd = format!(
        "{} --replay {}; echo TRACER-EXIT=$?",
        common::bin(),
        path.display()
    );
    let tmux = Tmux::start("layout", 80, 24, &cmd);
    let screen = tmux.wait_until("the failed exec's row", WAIT, |s| {
        s.contains("ENOENT nosuchcmd")
    });
    let head = screen
        .lines()
        .find(|l| l.contains("END"))
        .unwrap_or_else(|| panic!("no finished table:\n{screen}"));
    for title in ["COMMAND", "EXIT", "DURATION"] {
        assert!(head.contains(title), "{title} missing:\n{screen}");
    }
    assert!(
        screen.contains("drops") && screen.contains("1297 (ring 1234+56, map 7)"),
        "the drop counter is cut:\n{screen}"
    );
    let failed = screen
        .lines()
        .find(|l| l.contains("ENOENT nosuchcmd"))
        .unwrap_or_default();
    assert!(
        failed.split_whitespace().any(|w| w == "127"),
        "exit 127 not on the failed exec's row:\n{screen}"
    );
    let code = screen
        .lines()
        .find(|l| l.contains(&format!("{marker}-code")))
        .unwrap_or_else(|| panic!("the exit-code row's command is missing:\n{screen}"));
    assert!(code.split_whitespace().any(|w| w == "42"), "{screen}");
    tmux.keys(&["q"]);
    tmux.wait_for("TRACER-EXIT=0", WAIT);
}
