//! End to end: the tree view of the real binary in tmux, fed by the real
//! kernel. A script runs a second script, which runs a program eight
//! times and a third script from a subshell; the tree shows the chain
//! nested and the eight runs on one group line.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::Tmux;

const WAIT: Duration = Duration::from_secs(20);

fn script(dir: &Path, name: &str, body: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write the script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// The tree glyphs' width on the first line that has `name`: how deep
/// the line is (two cells a level), and the line.
fn depth<'a>(screen: &'a str, name: &str) -> Option<(usize, &'a str)> {
    let command = screen.lines().find_map(|l| {
        let byte = l.find("COMMAND")?;
        Some(l[..byte].chars().count())
    })?;
    let line = screen.lines().find(|l| l.contains(name))?;
    let glyphs = line
        .chars()
        .skip(command)
        .take_while(|c| " │├└─▾▸…".contains(*c))
        .count();
    Some((glyphs, line))
}

#[test]
fn tree_nests_a_script_chain_and_groups_its_repeated_runs() {
    let Some(_serial) = common::bpf_test("tree_nests_a_script_chain_and_groups_its_repeated_runs")
    else {
        return;
    };
    // a script's comm is its file name: short, unique names are this
    // test's own processes on a busy host
    let id = std::process::id() % 100_000;
    let (top, middle, leaf, run, wait) = (
        format!("ta{id}"),
        format!("tb{id}"),
        format!("tq{id}"),
        format!("tt{id}"),
        format!("tz{id}"),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().display().to_string();
    std::fs::copy("/bin/true", dir.path().join(&run)).expect("copy true");
    std::fs::copy("/bin/sleep", dir.path().join(&wait)).expect("copy sleep");
    script(dir.path(), &leaf, "exit 0");
    script(
        dir.path(),
        &middle,
        &format!("for i in 1 2 3 4 5 6 7 8; do \"{d}/{run}\"; done\n( \"{d}/{leaf}\"; exit 0 )"),
    );
    // the top stays alive (a live row) while its children are finished
    script(
        dir.path(),
        &top,
        &format!("\"{d}/{middle}\"\n\"{d}/{wait}\" 30 &\necho $! > \"{d}/pid\"\nwait"),
    );

    let tmux = Tmux::start(
        "tree",
        140,
        50,
        &format!("{}; echo TRACER-EXIT=$?", common::bin()),
    );
    tmux.wait_for("min duration", WAIT);
    let mut chain = Command::new(dir.path().join(&top))
        .spawn()
        .expect("run the script chain");
    let pidfile = dir.path().join("pid");
    let deadline = std::time::Instant::now() + WAIT;
    while !pidfile.exists()
        || std::fs::read_to_string(&pidfile)
            .unwrap_or_default()
            .is_empty()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the chain did not run"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    tmux.keys(&["t"]);
    tmux.wait_for(" Tree ", WAIT);
    // a search shows the chain's processes with their ancestors; groups
    // open under a search
    tmux.keys(&["/"]);
    tmux.text(&id.to_string());
    tmux.keys(&["Enter"]);
    let group = format!("{run} ×8");
    let screen = tmux.wait_until("the chain, nested, and its 8 runs grouped", WAIT, |s| {
        let runs = s
            .lines()
            .filter(|l| l.contains(&run) && !l.contains('×'))
            .count();
        [&top, &middle, &leaf, &group, &wait]
            .iter()
            .all(|n| s.contains(n.as_str()))
            && runs == 8
    });
    let (top_at, top_line) = depth(&screen, &top).expect("the top script");
    let (middle_at, middle_line) = depth(&screen, &middle).expect("the second script");
    let (group_at, group_line) = depth(&screen, &group).expect("the group");
    let (leaf_at, _) = depth(&screen, &leaf).expect("the third script");
    let (member_at, _) = depth(&screen, &format!("/{run}")).expect("a run");
    let (wait_at, _) = depth(&screen, &wait).expect("the sleep");
    // each level two cells further in
    assert_eq!(middle_at, top_at + 2, "{screen}");
    assert_eq!(group_at, middle_at + 2, "{screen}");
    assert_eq!(member_at, group_at + 2, "{screen}");
    // the subshell forked without exec: a line of its own (known from its
    // fork), with the third script under it
    assert_eq!(leaf_at, middle_at + 4, "{screen}");
    assert_eq!(wait_at, middle_at, "{screen}");
    assert!(middle_line.contains("├─▾"), "{middle_line}");
    assert!(group_line.contains("├─▾ "), "{group_line}");
    assert!(top_line.contains("running"), "{top_line}");
    // the order is the chain's: the top, its first child, the runs, the sleep
    let row = |n: &str| screen.lines().position(|l| l.contains(n));
    assert!(
        row(&top) < row(&middle) && row(&middle) < row(&group),
        "{screen}"
    );
    assert!(
        row(&group) < row(&leaf) && row(&leaf) < row(&wait),
        "{screen}"
    );

    // without the search the group is closed: one line for the eight
    tmux.keys(&["Escape"]);
    let screen = tmux.wait_until("the search cleared", WAIT, |s| !s.contains("Filter"));
    let runs = screen.lines().filter(|l| l.contains(&run)).count();
    assert!(runs <= 1, "{screen}");

    // t goes back to where it came from
    tmux.keys(&["t"]);
    tmux.wait_for(" Finished ", WAIT);
    tmux.keys(&["q"]);
    tmux.wait_for("TRACER-EXIT=0", WAIT);

    if let Ok(pid) = std::fs::read_to_string(&pidfile) {
        if let Ok(pid) = pid.trim().parse::<i32>() {
            // SAFETY: kill has no memory preconditions; the pid is our sleep's.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
    }
    chain.wait().ok();
}
