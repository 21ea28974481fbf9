//! End to end: the Commands view of the real binary in tmux, fed by the
//! real kernel's per-command totals under a min duration that keeps every
//! counted run off the Finished list.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::Tmux;

const WAIT: Duration = Duration::from_secs(20);

/// A copy of `program` whose file name (and so its comm) is `name`.
fn named_copy(dir: &std::path::Path, program: &str, name: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::copy(program, &path).expect("copy the program");
    path
}

fn row_with<'a>(screen: &'a str, needle: &str) -> Option<&'a str> {
    screen.lines().find(|l| l.contains(needle))
}

/// The cells of a table row, split at runs of spaces.
fn cells(row: &str) -> Vec<&str> {
    row.trim_matches(|c: char| c == '│' || c.is_whitespace())
        .split_whitespace()
        .collect()
}

#[test]
fn commands_view_counts_every_run_the_min_duration_hides() {
    let Some(_serial) = common::bpf_test("commands_view_counts_every_run_the_min_duration_hides")
    else {
        return;
    };
    // comms are 15 bytes at most: keep the names short and unique
    let id = std::process::id() % 100_000;
    let (ok, bad, slow) = (
        format!("cvok{id}"),
        format!("cvbad{id}"),
        format!("cvslow{id}"),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let ok_path = named_copy(dir.path(), "/bin/true", &ok);
    let bad_path = named_copy(dir.path(), "/bin/false", &bad);
    let slow_path = named_copy(dir.path(), "/bin/sleep", &slow);

    let tmux = Tmux::start(
        "commands",
        140,
        45,
        // a finished list of three: the slow runs pass the filter, and
        // most are evicted from the list, yet all count
        &format!(
            "{} -d 50ms --max-finished 3; echo TRACER-EXIT=$?",
            common::bin()
        ),
    );
    tmux.wait_for("min duration 50ms", WAIT);
    for _ in 0..300 {
        Command::new(&ok_path).status().expect("run the true copy");
    }
    for _ in 0..7 {
        let status = Command::new(&bad_path)
            .status()
            .expect("run the false copy");
        assert_eq!(status.code(), Some(1));
    }
    for _ in 0..6 {
        Command::new(&slow_path)
            .arg("0.06")
            .status()
            .expect("run the sleep copy");
    }

    // every run counted, though none lived the 50 ms Finished asks for
    tmux.keys(&["c"]);
    tmux.wait_for("COMMAND", WAIT);
    tmux.keys(&["/"]);
    tmux.text(&format!("cv {id}"));
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_until("300 runs, 7 failures, 6 slow runs", WAIT, |s| {
        let ok_row = row_with(s, &ok).map(cells);
        let bad_row = row_with(s, &bad).map(cells);
        let slow_row = row_with(s, &slow).map(cells);
        ok_row.is_some_and(|c| c.get(1) == Some(&"300") && c.get(2) == Some(&"0"))
            && bad_row.is_some_and(|c| c.get(1) == Some(&"7") && c.get(2) == Some(&"7"))
            && slow_row.is_some_and(|c| c.get(1) == Some(&"6"))
    });
    assert!(screen.contains("Commands 3"), "{screen}");

    // sorted by FAILED (the column before CPU), most first: the false
    // copy leads
    tmux.keys(&["<"]);
    let screen = tmux.wait_for("FAILED▼", WAIT);
    let first = screen.lines().position(|l| l.contains(&bad));
    let second = screen.lines().position(|l| l.contains(&ok));
    assert!(first < second, "{screen}");

    // Enter: the false copy's detail, with its histogram and exits
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("every run since start", WAIT);
    for text in ["<100µs", "≥10s", "runs/s, last 60 s", "exits  1: 7"] {
        assert!(screen.contains(text), "{text} missing:\n{screen}");
    }
    tmux.keys(&["Escape"]);

    // Finished has none of the short ones (the kernel kept them off) and
    // three of the slow ones (the cap)
    tmux.keys(&["c"]);
    let screen = tmux.wait_for("Finished 3", WAIT);
    assert!(row_with(&screen, &ok).is_none(), "{screen}");
    assert!(row_with(&screen, &bad).is_none(), "{screen}");
    let slow_rows = screen.lines().filter(|l| l.contains(&slow)).count();
    assert_eq!(slow_rows, 3, "{screen}");

    tmux.keys(&["q"]);
    tmux.wait_for("TRACER-EXIT=0", WAIT);
}
