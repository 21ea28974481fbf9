//! End to end: a replay's clock in a real terminal (tmux). It shows where
//! the replay is while it plays, and stops at the file's last event, so the
//! ages of processes still live at the end stay put.

mod common;

use std::time::Duration;

use common::Tmux;
use tracer_tui::event::{ExitInfo, ExitStatus, TraceEvent, WallTime};
use tracer_tui::record;

const WAIT: Duration = Duration::from_secs(15);
const MS: u64 = 1_000_000;
/// 2023-11-14T22:13:20Z
const T0: u64 = 1_700_000_000_000_000_000;

/// A recording of `span_ms`: a process that stays live to the end, one that
/// exits, and a last exec at the end.
fn recording(dir: &std::path::Path, marker: &str, span_ms: u64) -> std::path::PathBuf {
    let proc = |pid: u32, name: &str, start: u64| common::recorded(pid, name, start, marker);
    let short = proc(101, "short", T0 + 100 * MS);
    let events = [
        TraceEvent::Exec(proc(100, "stayer", T0)),
        TraceEvent::Exec(short.clone()),
        TraceEvent::Exit(ExitInfo {
            exit_comm: "short".into(),
            end: WallTime(T0 + 150 * MS),
            duration_ns: 50 * MS,
            status: ExitStatus(0),
            usage: None,
            process: short,
        }),
        TraceEvent::Exec(proc(102, "tail", T0 + span_ms * MS)),
    ];
    let text: String = events.iter().map(|e| record::to_line(e) + "\n").collect();
    let path = dir.join("replay.ndjson");
    std::fs::write(&path, text).expect("write the recording");
    path
}

fn start(name: &str, path: &std::path::Path, speed: &str) -> Tmux {
    // UTC, so the header's time of day is known
    let cmd = format!(
        "TZ=UTC0 {} --replay {} --speed {speed}; echo TRACER-EXIT=$?",
        common::bin(),
        path.display()
    );
    Tmux::start(name, 120, 40, &cmd)
}

/// The AGE cell of the live row whose command line holds `needle`.
fn age_of(screen: &str, needle: &str) -> Option<String> {
    let row = screen.lines().find(|l| l.contains(needle))?;
    // PID PPID USER COMM AGE COMMAND
    row.split_whitespace().nth(4).map(str::to_string)
}

/// The replay's position while it plays, from `  replay 22:13:SS P%` in
/// the top line: (seconds past 22:13:20, percent).
fn position(screen: &str) -> Option<(u32, u32)> {
    let top = screen.lines().next()?;
    let rest = &top[top.find("  replay 22:13:")? + "  replay 22:13:".len()..];
    let (second, rest) = rest.split_once(' ')?;
    let percent = rest.split_once('%')?.0;
    Some((
        second.parse::<u32>().ok()?.checked_sub(20)?,
        percent.parse().ok()?,
    ))
}

fn quit(tmux: &Tmux) {
    tmux.keys(&["q"]);
    tmux.wait_for("TRACER-EXIT=0", WAIT);
}

#[test]
fn after_the_end_ages_stay_put_and_the_header_says_it_ended() {
    let marker = format!("stop{}", std::process::id());
    let dir = tempfile::tempdir().expect("tempdir");
    // three recorded seconds, played in well under a millisecond
    let path = recording(dir.path(), &marker, 3_000);
    let tmux = start("replay-end", &path, "10000");
    let screen = tmux.wait_for("replay finished", WAIT);
    let stayer = format!("{marker}-stayer");
    assert!(
        screen.contains("replay finished 22:13:23 100%"),
        "the end's time and position:\n{screen}"
    );
    let age = age_of(&screen, &stayer).unwrap_or_else(|| panic!("no live row:\n{screen}"));
    assert_eq!(age, "3.00s", "the age at the last event:\n{screen}");
    // at this speed a running clock would add hours a second
    std::thread::sleep(Duration::from_millis(2500));
    let later = tmux.screen();
    assert_eq!(
        age_of(&later, &stayer).as_deref(),
        Some("3.00s"),
        "the age grew after the end:\n{later}"
    );
    assert!(later.contains("replay finished 22:13:23 100%"), "{later}");
    quit(&tmux);
}

#[test]
fn while_playing_the_header_shows_the_clock_and_percent() {
    let marker = format!("play{}", std::process::id());
    let dir = tempfile::tempdir().expect("tempdir");
    let path = recording(dir.path(), &marker, 4_000);
    let tmux = start("replay-play", &path, "1");
    // a moment in the middle of the file, its time and percent agreeing:
    // second k of four is 25k to 25k+24 %
    let screen = tmux.wait_until("a position part way", WAIT, |s| {
        position(s).is_some_and(|(second, percent)| {
            (1..=3).contains(&second) && (25 * second..25 * second + 25).contains(&percent)
        })
    });
    assert!(!screen.contains("replay finished"), "{screen}");
    let screen = tmux.wait_for("replay finished 22:13:24 100%", WAIT);
    let top = screen.lines().next().unwrap_or_default();
    assert!(!top.contains("  replay 22:"), "{top}");
    quit(&tmux);
}
