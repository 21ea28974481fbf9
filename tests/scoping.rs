//! Tracing one command's or one process's tree (`-- COMMAND`, `--pid`),
//! with the real binary and the real kernel program: what is counted, what
//! is not, exit statuses, --summary, -u, and the errors of bad input.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Longest a scoped run may take: it must end by itself when its tree has.
const RUN_LIMIT: Duration = Duration::from_secs(30);

/// A copy of a system binary under a name no other process has (a comm
/// of at most 15 bytes), in a directory of its own.
struct Marker {
    _dir: tempfile::TempDir,
    path: PathBuf,
    name: String,
}

fn marker(from: &str, tag: &str) -> Marker {
    let dir = tempfile::tempdir().expect("tempdir");
    let name = format!("{tag}{}", std::process::id() % 100_000);
    let path = dir.path().join(&name);
    std::fs::copy(from, &path).expect("copy binary");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    Marker {
        _dir: dir,
        path,
        name,
    }
}

/// Runs tracer-tui to its own end (killed, and the test failed, past
/// RUN_LIMIT), with stdin closed.
fn run(args: &[&str]) -> Output {
    finish(start(args), args)
}

/// Starts tracer-tui with stdin closed and its output piped, to `finish`.
fn start(args: &[&str]) -> Child {
    Command::new(common::bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tracer-tui")
}

fn finish(mut child: Child, what: &[&str]) -> Output {
    let deadline = Instant::now() + RUN_LIMIT;
    // read the pipes meanwhile, or a full pipe would stall it
    let out = std::thread::spawn({
        let mut stdout = child.stdout.take().expect("stdout");
        move || {
            let mut v = Vec::new();
            std::io::Read::read_to_end(&mut stdout, &mut v).ok();
            v
        }
    });
    let err = std::thread::spawn({
        let mut stderr = child.stderr.take().expect("stderr");
        move || {
            let mut v = Vec::new();
            std::io::Read::read_to_end(&mut stderr, &mut v).ok();
            v
        }
    });
    let status = common::wait_until_ended(&mut child, deadline, &format!("{what:?}"));
    Output {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON {l:?}: {e}")))
        .collect()
}

fn events<'a>(lines: &'a [Value], kind: &str, comm: &str) -> Vec<&'a Value> {
    lines
        .iter()
        .filter(|l| l["event"] == kind && l["comm"] == comm)
        .collect()
}

/// A shell loop running `marker` every `pause` until killed.
fn loop_of(marker: &Path, pause: &str) -> Child {
    Command::new("sh")
        .arg("-c")
        .arg(format!(
            "while :; do {}; sleep {pause}; done",
            marker.display()
        ))
        .stdout(Stdio::null())
        .spawn()
        .expect("start loop")
}

fn stop(mut child: Child) {
    // SAFETY: kill with a pid we spawned and have not reaped.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let _ = child.wait();
}

#[test]
fn a_command_is_traced_with_its_descendants_and_nothing_else() {
    let Some(_guard) = common::bpf_test("scoping::command") else {
        return;
    };
    let mark = marker("/bin/true", "scm");
    // the same binary, run outside the tree all along
    let outside = loop_of(&mark.path, "0.005");
    let script = format!(
        "for i in $(seq 50); do {m}; done; ( {m}; {m}; true ); exit 0",
        m = mark.path.display()
    );
    let out = run(&["--json", "-d", "0", "--", "sh", "-c", &script]);
    stop(outside);
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);
    let root = events(&lines, "exec", "sh");
    assert_eq!(root.len(), 1, "the command's own exec: {root:?}");
    let root_pid = root[0]["pid"].as_u64().unwrap();
    let execs = events(&lines, "exec", &mark.name);
    let exits = events(&lines, "exit", &mark.name);
    assert_eq!(execs.len(), 52, "50 in the loop, 2 in the subshell");
    assert_eq!(exits.len(), 52);
    // the forked subshell: an exit of a process that never exec'd
    let subshell: Vec<_> = lines
        .iter()
        .filter(|l| l["event"] == "exit" && l["comm"] == "sh" && l["pid"] != root_pid)
        .collect();
    assert_eq!(subshell.len(), 1, "{subshell:?}");
    assert_eq!(subshell[0]["ppid"].as_u64(), Some(root_pid));
    let sub_pid = subshell[0]["pid"].as_u64().unwrap();
    for e in &execs {
        let ppid = e["ppid"].as_u64().unwrap();
        assert!(ppid == root_pid || ppid == sub_pid, "not in the tree: {e}");
    }
    // the root's exit ends the output, with its exit code
    let root_exit = events(&lines, "exit", "sh");
    assert!(root_exit
        .iter()
        .any(|e| e["pid"].as_u64() == Some(root_pid)));
}

#[test]
fn the_commands_exit_status_is_tracer_tuis() {
    let Some(_guard) = common::bpf_test("scoping::status") else {
        return;
    };
    let out = run(&["--stream", "--", "sh", "-c", "exit 7"]);
    assert_eq!(out.status.code(), Some(7));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("EXIT  sh") && text.contains("[7]"), "{text}");
    let out = run(&["--json", "--", "sh", "-c", "kill -9 $$"]);
    assert_eq!(out.status.code(), Some(137));
    let lines = json_lines(&out);
    let exits = events(&lines, "exit", "sh");
    assert_eq!(exits.len(), 1);
    assert_eq!(exits[0]["signal_name"], "SIGKILL");
    // a command that is not there, or not executable: one line, like `time`
    let out = run(&["--json", "--", "no-such-command-tracer-tui"]);
    assert_eq!(out.status.code(), Some(127));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err,
        "tracer-tui: cannot run no-such-command-tracer-tui: command not found\n"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let plain = dir.path().join("not-executable");
    std::fs::write(&plain, "#!/bin/sh\n").expect("write");
    let out = run(&["--json", "--", plain.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(126));
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
}

#[test]
fn a_running_process_is_followed_from_pid_until_it_ends() {
    let Some(_guard) = common::bpf_test("scoping::pid") else {
        return;
    };
    let mark = marker("/bin/true", "scp");
    let target = loop_of(&mark.path, "0.05");
    let outside = loop_of(&mark.path, "0.05");
    let pid = target.id();
    let tracer = start(&["--json", "--pid", &pid.to_string()]);
    std::thread::sleep(Duration::from_millis(1500));
    // the target ends; tracer-tui must end by itself soon after
    stop(target);
    let out = finish(tracer, &["--pid"]);
    stop(outside);
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);
    let execs = events(&lines, "exec", &mark.name);
    assert!(execs.len() >= 5, "new children seen: {}", execs.len());
    for e in &execs {
        assert_eq!(
            e["ppid"].as_u64(),
            Some(u64::from(pid)),
            "not the target's: {e}"
        );
    }
    // the target's own end is reported
    assert!(lines
        .iter()
        .any(|l| l["event"] == "exit" && l["pid"].as_u64() == Some(u64::from(pid))));
    // the host's other processes are not
    assert!(
        !lines.iter().any(|l| l["comm"] == "tracer-tui"),
        "tracer-tui itself is outside the tree"
    );
}

#[test]
fn summary_counts_runs_and_failures_on_stderr_only() {
    let Some(_guard) = common::bpf_test("scoping::summary") else {
        return;
    };
    let ok = marker("/bin/true", "sok");
    let bad = marker("/bin/false", "sbad");
    let outside = loop_of(&ok.path, "0.005");
    let script = format!(
        "for i in 1 2 3 4 5 6 7; do {ok}; done; {bad}; {bad}; {bad} || exit 0",
        ok = ok.path.display(),
        bad = bad.path.display()
    );
    let out = run(&["--summary", "--", "sh", "-c", &script]);
    stop(outside);
    assert!(out.status.success(), "{:?}", out.status);
    assert!(out.stdout.is_empty(), "stdout is the command's own");
    let err = String::from_utf8_lossy(&out.stderr);
    let row = |name: &str| -> Vec<String> {
        let line = err
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no row for {name} in:\n{err}"));
        line.split_whitespace().map(String::from).collect()
    };
    assert_eq!(row(&ok.name)[1..3], ["7", "0"], "{err}");
    assert_eq!(row(&bad.name)[1..3], ["3", "3"], "{err}");
    assert_eq!(row("sh")[1..3], ["1", "0"], "{err}");
    assert!(err.starts_with("COMMAND "), "{err}");
    assert!(err.contains("total: 11 processes, 3 failed"), "{err}");
    assert!(err.contains("sh exited with 0 after"), "{err}");
}

#[test]
fn a_command_runs_as_the_user_given_in_the_hosts_mount_namespace() {
    let Some(_guard) = common::bpf_test("scoping::user") else {
        return;
    };
    let out = run(&["--summary", "-u", "nobody", "--", "id", "-u"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = Command::new("id").args(["-u", "nobody"]).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&expected.stdout)
    );
    let out = run(&["--summary", "-u", "nobody", "--", "id", "-G"]);
    let expected = Command::new("id").args(["-G", "nobody"]).output().unwrap();
    assert_eq!(out.stdout, expected.stdout, "nobody's groups, not root's");
    // tracefs may be mounted in a namespace of tracer-tui's helper; the
    // command must see the host's mounts
    let out = run(&["--summary", "--", "readlink", "/proc/self/ns/mnt"]);
    let ours = std::fs::read_link("/proc/self/ns/mnt").unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        ours.to_string_lossy()
    );
}

#[test]
fn bad_scoping_input_is_one_line_and_non_zero() {
    let Some(_guard) = common::bpf_test("scoping::bad") else {
        return;
    };
    let one_line = |args: &[&str], code: i32, needle: &str| {
        let out = run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err:?}");
        assert!(err.starts_with("tracer-tui: "), "{err}");
        assert!(err.contains(needle), "{needle:?} not in {err:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    };
    one_line(&["--json", "--pid", "0"], 2, "--pid");
    one_line(&["--json", "--pid", "x"], 2, "--pid");
    one_line(
        &["--json", "--pid", "1", "--", "true"],
        2,
        "cannot be used with",
    );
    one_line(&["--json", "-u", "nobody"], 2, "COMMAND");
    one_line(&["--json", "--"], 2, "-- needs a command");
    one_line(&["--summary", "-d", "5ms", "--"], 2, "-- needs a command");
    one_line(&["--replay", "f", "--", "true"], 2, "cannot be used with");
    one_line(&["--replay", "f", "--summary"], 2, "cannot be used with");
    one_line(&["--json", "true"], 2, "true");
    // pid_max is at most 2^22: this one cannot exist
    one_line(&["--json", "--pid", "2000000000"], 1, "no such process");
    one_line(
        &["--json", "-u", "no-such-user-tt", "--", "true"],
        1,
        "no such user",
    );
    // not root: -u is refused before anything runs
    let out = Command::new("setpriv")
        .args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
        .arg(common::bin())
        .args(["--json", "-u", "root", "--", "true"])
        .output()
        .expect("setpriv");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(
        err,
        "tracer-tui: -u root needs root (try: sudo tracer-tui -u ...)\n"
    );
}

/// Waits for a file the shell in tmux writes when tracer-tui has exited.
fn wait_for_file(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if text.ends_with('\n') {
                return text;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{} never written",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_dashboard_shows_the_end_and_quitting_terminates_the_command() {
    let Some(_guard) = common::bpf_test("scoping::dashboard") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let (first, second) = (dir.path().join("first"), dir.path().join("second"));
    let tmux = common::Tmux::start(
        "scope-dash",
        120,
        30,
        &format!(
            "{} -- sh -c 'sleep 0.3; exit 5'; echo status=$? > {}",
            common::bin(),
            first.display()
        ),
    );
    // the command's end is shown, and the dashboard stays open
    tmux.wait_for("sh exited with 5 after", Duration::from_secs(10));
    assert!(tmux.alternate_screen());
    tmux.keys(&["q"]);
    assert_eq!(wait_for_file(&first), "status=5\n");
    // quitting while it runs sends it SIGTERM: 128 + 15
    tmux.type_line(&format!(
        "{} -- sleep 60; echo status=$? > {}",
        common::bin(),
        second.display()
    ));
    tmux.wait_for("tracing sleep (pid", Duration::from_secs(10));
    tmux.keys(&["q"]);
    assert_eq!(wait_for_file(&second), "status=143\n");
}

#[test]
fn summary_of_the_whole_host_is_printed_on_sigint() {
    let Some(_guard) = common::bpf_test("scoping::host_summary") else {
        return;
    };
    let mark = marker("/bin/true", "shs");
    let tracer = start(&["--summary"]);
    // its start takes a moment: run the marker until a run is surely seen,
    // then exactly four more after a second's pause
    std::thread::sleep(Duration::from_millis(1500));
    for _ in 0..4 {
        assert!(Command::new(&mark.path).status().unwrap().success());
    }
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: kill with the pid of a child we have not reaped.
    unsafe { libc::kill(tracer.id() as i32, libc::SIGINT) };
    let out = finish(tracer, &["--summary"]);
    assert!(out.status.success(), "{:?}", out.status);
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    let row: Vec<&str> = err
        .lines()
        .find(|l| l.split_whitespace().next() == Some(mark.name.as_str()))
        .unwrap_or_else(|| panic!("no row for {} in:\n{err}", mark.name))
        .split_whitespace()
        .collect();
    assert_eq!(row[1..3], ["4", "0"], "{err}");
    assert!(err.contains("total: "), "{err}");
}

/// Asked to stop (a service manager's SIGTERM, `timeout`), headless
/// tracer-tui ends a command that outlives the grace, rather than wait
/// untraced for as long as it runs, and exits with the command's status.
#[test]
fn sigterm_ends_a_headless_command_that_goes_on() {
    let Some(_guard) = common::bpf_test("scoping::sigterm") else {
        return;
    };
    let tracer = start(&["--json", "--", "sleep", "600"]);
    std::thread::sleep(Duration::from_millis(1000));
    let asked = std::time::Instant::now();
    // SAFETY: kill with the pid of a child we have not reaped.
    unsafe { libc::kill(tracer.id() as i32, libc::SIGTERM) };
    let out = finish(tracer, &["--json", "SIGTERM"]);
    assert!(
        asked.elapsed() < Duration::from_secs(15),
        "took {:?}",
        asked.elapsed()
    );
    // sleep ended by the SIGTERM tracer-tui passed on: 128 + 15
    assert_eq!(out.status.code(), Some(143), "{out:?}");
    let lines = json_lines(&out);
    assert!(
        !events(&lines, "exit", "sleep").is_empty(),
        "the command's exit was traced: {lines:?}"
    );
}

/// A child a traced process makes with CLONE_PARENT is its parent's
/// sibling: here tracer-tui's own child, outside the set by its parent,
/// yet started by the traced command, so traced.
#[test]
fn a_clone_parent_child_of_the_command_is_traced() {
    let Some(_guard) = common::bpf_test("scoping::clone_parent") else {
        return;
    };
    assert_eq!(
        std::env::consts::ARCH,
        "x86_64",
        "clone's syscall number below"
    );
    let mark = marker("/bin/true", "scp");
    // clone(CLONE_PARENT | SIGCHLD) by its number; the child execs the
    // marker at once; the caller, not its parent, waits for it to end
    let script = r#"
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
pid = libc.syscall(56, 0x8000 | 17, 0, 0, 0, 0)
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1]])
    os._exit(127)
assert pid > 0, ctypes.get_errno()
def state():
    try:
        return open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "X"
while state() not in "ZX":
    time.sleep(0.01)
"#;
    let marker_path = mark.path.to_str().expect("utf-8 path");
    // the interpreter itself: a version manager's shim would exec several
    // times on its way there
    let python = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3");
    let python = String::from_utf8(python.stdout).expect("utf-8 path");
    let python = python.trim();
    let out = run(&["--json", "--", python, "-c", script, marker_path]);
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);
    let execs = events(&lines, "exec", &mark.name);
    assert_eq!(execs.len(), 1, "the CLONE_PARENT child's exec: {lines:?}");
    // its parent is the command's parent: tracer-tui
    let python = events(&lines, "exec", "python3");
    assert_eq!(python.len(), 1);
    assert_eq!(execs[0]["ppid"], python[0]["ppid"]);
}
