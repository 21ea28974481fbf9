//! Hostile and odd processes, really run: control sequences in names,
//! filenames and argv, invalid UTF-8, huge arguments, empty argv, execveat,
//! signals, core dumps and reparenting. Every sink must show them correctly
//! and no control byte from a process may reach a terminal.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{JsonTracer, Tmux};
use serde_json::{json, Value};

const OSC_TITLE: &[u8] = b"\x1b]0;PWNED\x07";

/// Output bytes a terminal could act on: anything below space but newline, DEL.
fn control_bytes(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .copied()
        .filter(|&b| (b < 0x20 && b != b'\n') || b == 0x7f)
        .collect()
}

/// Runs a copy of /bin/true under a hostile name with hostile argv.
fn run_hostile(dir: &std::path::Path, marker: &str) -> u32 {
    let exe = dir.join(OsStr::from_bytes(b"evil\x1b[2J\x07\xe2\x80\xae.sh"));
    std::fs::copy("/bin/true", &exe).expect("copy /bin/true");
    let long = "A".repeat(5000);
    let mut cmd = Command::new(&exe);
    cmd.arg0(OsStr::from_bytes(OSC_TITLE))
        .arg(OsStr::from_bytes(b"\x08\x08bs"))
        .arg(OsStr::from_bytes(b"\xc2\x9b31mC1"))
        .arg(OsStr::from_bytes(b"\xff\xfeinv"))
        .arg("\u{202e}rtl")
        .arg(marker)
        .arg(&long);
    let mut child = cmd.spawn().expect("spawn hostile process");
    let pid = child.id();
    child.wait().expect("wait");
    pid
}

/// A process that runs env with hostile argv, which then execs true; and
/// one whose env fails to exec a hostile path. Returns both pids.
fn run_hostile_chain_and_failure() -> (u32, u32) {
    let mut chain = Command::new("/usr/bin/env");
    chain
        .arg0(OsStr::from_bytes(OSC_TITLE))
        .arg(OsStr::from_bytes(b"X=\x1b[31m"))
        .arg("/bin/true");
    let mut fail = Command::new("/usr/bin/env");
    fail.arg(OsStr::from_bytes(b"/nonexistent\x1b]0;PWNED\x07/cmd"))
        .stderr(Stdio::null());
    let pids = [chain, fail].map(|mut c| {
        let mut child = c.spawn().expect("spawn env");
        let pid = child.id();
        child.wait().expect("wait");
        pid
    });
    (pids[0], pids[1])
}

fn odd(args: &[&str]) -> (u32, std::process::ExitStatus) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(common::oddproc())
        .args(args)
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn oddproc");
    let pid = child.id();
    let status = child.wait().expect("wait");
    (pid, status)
}

/// The last event of a kind for a pid: after a re-exec, the newest image.
fn find<'a>(events: &'a [Value], kind: &str, pid: u32) -> &'a Value {
    events
        .iter()
        .rev()
        .find(|e| e["event"] == kind && e["pid"] == pid)
        .unwrap_or_else(|| panic!("no {kind} for pid {pid}"))
}

#[test]
fn hostile_text_is_neutralised_in_json_and_stream() {
    let Some(_serial) = common::bpf_test("hostile_text_is_neutralised_in_json_and_stream") else {
        return;
    };
    let json_tracer = JsonTracer::start(&[]);
    let stream_dir = tempfile::tempdir().expect("tempdir");
    let stream_path = stream_dir.path().join("stream.txt");
    let mut stream = Command::new(common::bin())
        .arg("--stream")
        .stdout(std::fs::File::create(&stream_path).expect("stream file"))
        .spawn()
        .expect("spawn --stream");
    // ready once a process started now is in its output (a fixed wait is
    // too short on a loaded host)
    let marker = format!("stream-ready-{}", std::process::id());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&stream_path)
        .unwrap_or_default()
        .contains("echo")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "--stream never reported a process"
        );
        let _ = Command::new("/bin/echo")
            .arg(&marker)
            .stdout(Stdio::null())
            .status();
        std::thread::sleep(Duration::from_millis(50));
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let pid = run_hostile(dir.path(), "hostile-marker");
    let (renamed, _) = odd(&["comm", "\x1b]0;PWNED\x07", "0"]);
    let (chained, failed) = run_hostile_chain_and_failure();
    std::thread::sleep(Duration::from_millis(500));

    // SAFETY: kill with a pid we spawned.
    unsafe { libc::kill(stream.id() as i32, libc::SIGTERM) };
    stream.wait().expect("--stream ends");
    let stream_text = std::fs::read(&stream_path).expect("stream output");
    let raw = std::fs::read(&json_tracer.path).expect("json output");
    let events = json_tracer.stop();

    assert_eq!(control_bytes(&raw), b"", "control bytes in --json output");
    assert_eq!(
        control_bytes(&stream_text),
        b"",
        "control bytes in --stream output"
    );

    let exec = find(&events, "exec", pid);
    let dir_text = dir.path().display().to_string();
    assert_eq!(
        exec["filename"],
        format!("{dir_text}/evil\\x1b[2J\\x07\\u{{202e}}.sh")
    );
    assert_eq!(exec["comm"], "evil\\x1b[2J\\x07\\u{202e}.sh");
    let argv = exec["argv"].as_array().expect("argv");
    assert_eq!(
        argv[..6],
        [
            json!("\\x1b]0;PWNED\\x07"),
            json!("\\x08\\x08bs"),
            json!("\\x9b31mC1"),
            json!("\u{fffd}\u{fffd}inv"),
            json!("\\u{202e}rtl"),
            json!("hostile-marker"),
        ]
    );
    assert_eq!(exec["argv_truncated"], true);
    let kept: usize = argv.iter().map(|a| a.as_str().map_or(0, str::len)).sum();
    assert!(kept < 600, "argv kept {kept} bytes of a 5 kB argument");
    assert_eq!(find(&events, "exit", pid)["exit_code"], 0);

    // a name changed after exec shows at exit as the thread's name; the
    // process keeps the name it exec'd with
    let exit = find(&events, "exit", renamed);
    assert_eq!(exit["exit_comm"], "\\x1b]0;PWNED\\x07");
    assert_eq!(exit["comm"], "oddproc");
    // the exec chain: the earlier image's hostile argv, cleaned
    let exit = find(&events, "exit", chained);
    assert_eq!(exit["history"][0]["argv"][1], "X=\\x1b[31m");
    assert_eq!(exit["history"][0]["argv"][0], "\\x1b]0;PWNED\\x07");
    // the failed exec: its hostile path and argv, cleaned
    let fail = find(&events, "exec_failed", failed);
    assert_eq!(fail["filename"], "/nonexistent\\x1b]0;PWNED\\x07/cmd");
    assert_eq!(fail["error"], "ENOENT");
    let exit = find(&events, "exit", failed);
    assert_eq!(
        exit["history"][0]["filename"],
        "/nonexistent\\x1b]0;PWNED\\x07/cmd"
    );
    assert_eq!(exit["history"][0]["error"], "ENOENT");

    let stream_text = String::from_utf8_lossy(&stream_text);
    assert!(
        stream_text.contains("FAIL  env"),
        "the failed exec is in the stream: {stream_text}"
    );
    assert!(
        stream_text.contains("EXIT  evil\\x1b[2J\\x07\\u{202e}.sh"),
        "{stream_text}"
    );
}

#[test]
fn odd_execs_signals_cores_and_reparenting() {
    let Some(_serial) = common::bpf_test("odd_execs_signals_cores_and_reparenting") else {
        return;
    };
    let tracer = JsonTracer::start(&[]);

    let (empty, _) = odd(&["empty-argv", "/bin/true"]);
    // a path longer than the kernel program keeps
    let deep = tempfile::tempdir().expect("tempdir");
    let mut long_path = deep.path().to_path_buf();
    for _ in 0..6 {
        long_path.push("d".repeat(50));
    }
    std::fs::create_dir_all(&long_path).expect("deep directories");
    long_path.push("true");
    std::fs::copy("/bin/true", &long_path).expect("copy /bin/true");
    let mut long_child = Command::new(&long_path).spawn().expect("spawn");
    let long_pid = long_child.id();
    long_child.wait().expect("wait");
    let (at, _) = odd(&["execveat", "/bin/echo", "execveat-marker"]);
    let signals = [1, 2, 3, 6, 9, 11, 13, 14, 15];
    let killed: Vec<(u32, u32)> = signals
        .iter()
        .map(|&s| (odd(&["signal", &s.to_string()]).0, s))
        .collect();
    let (cored, status) = odd(&["abort"]);
    use std::os::unix::process::ExitStatusExt;
    assert!(
        status.core_dumped(),
        "the kernel did not dump core here: check core_pattern"
    );
    let parent = Command::new("sh")
        .args(["-c", "sleep 0.3 & echo $!"])
        .output()
        .expect("sh");
    let orphan: u32 = String::from_utf8_lossy(&parent.stdout)
        .trim()
        .parse()
        .expect("orphan pid");
    std::thread::sleep(Duration::from_millis(800));
    let events = tracer.stop();

    let e = find(&events, "exec", long_pid);
    assert_eq!(e["filename_truncated"], true, "{e}");
    assert_eq!(e["filename"].as_str().map(str::len), Some(255), "{e}");
    let e = find(&events, "exec", empty);
    assert_eq!(e["filename_truncated"], false, "{e}");
    assert!(e["argv"] == json!([]) || e["argv"] == json!([""]), "{e}");
    assert_eq!(e["filename"], "/bin/true");

    let e = find(&events, "exit", at);
    assert_eq!(e["argv"], json!(["/bin/echo", "execveat-marker"]));
    assert!(
        e["filename"]
            .as_str()
            .is_some_and(|f| f.starts_with("/dev/fd/")),
        "{e}"
    );

    for (pid, sig) in killed {
        let e = find(&events, "exit", pid);
        assert_eq!(e["signal"], sig, "{e}");
        assert_eq!(e["exit_code"], Value::Null);
        assert_eq!(e["core_dumped"], false);
    }
    let e = find(&events, "exit", cored);
    assert_eq!(
        (e["signal_name"].as_str(), e["core_dumped"].as_bool()),
        (Some("SIGABRT"), Some(true))
    );

    let e = find(&events, "exit", orphan);
    assert_eq!(e["argv"], json!(["sleep", "0.3"]));
    let ms = e["duration_ns"].as_u64().unwrap_or(0) / 1_000_000;
    assert!((295..400).contains(&ms), "orphan lived {ms} ms");
}

#[test]
fn hostile_text_never_reaches_the_dashboard_terminal() {
    let Some(_serial) = common::bpf_test("hostile_text_never_reaches_the_dashboard_terminal")
    else {
        return;
    };
    let tmux = Tmux::start(
        "hostile",
        160,
        40,
        &format!("{}; echo TRACER-EXIT=$?", common::bin()),
    );
    tmux.wait_for("Finished", Duration::from_secs(15));
    let title_before = tmux.run(&["display", "-p", "#{pane_title}"]);
    tmux.keys(&["/"]);
    tmux.text("hostile-dash");
    tmux.keys(&["Enter"]);
    let dir = tempfile::tempdir().expect("tempdir");
    run_hostile(dir.path(), "hostile-dash");
    let screen = tmux.wait_until("the hostile row", Duration::from_secs(15), |s| {
        s.lines()
            .any(|l| l.contains("\\x1b]0;PWNED\\x07") && l.contains("hostile-dash"))
    });
    assert!(screen.contains("evil\\x1b[2J"), "{screen}");
    tmux.keys(&["Enter"]);
    tmux.wait_for("filename", Duration::from_secs(5));

    // an exec chain and a failed exec of hostile text: in the row, in search
    // and in the detail pane's history
    tmux.keys(&["Escape"]);
    let (chained, failed) = run_hostile_chain_and_failure();
    tmux.keys(&["/"]);
    tmux.text(&format!("pid:{failed}"));
    tmux.keys(&["Enter"]);
    tmux.wait_until("the failed exec's row", Duration::from_secs(15), |s| {
        s.lines()
            .any(|l| l.contains("ENOENT") && l.contains("PWNED") && l.contains("127"))
    });
    tmux.keys(&["Enter"]);
    tmux.wait_until(
        "the failure in the detail pane",
        Duration::from_secs(5),
        |s| s.contains("/nonexistent\\x1b]0;PWNED\\x07/cmd"),
    );
    tmux.keys(&["Escape", "/"]);
    tmux.text(&format!("X=\\x1b[31m pid:{chained}"));
    tmux.keys(&["Enter"]);
    tmux.wait_until(
        "the chain's earlier argv found",
        Duration::from_secs(15),
        |s| {
            s.lines()
                .any(|l| l.contains(&chained.to_string()) && l.contains("true"))
        },
    );
    assert_eq!(
        tmux.run(&["display", "-p", "#{pane_title}"]),
        title_before,
        "a process set the terminal title"
    );
    tmux.keys(&["q"]);
    tmux.wait_for("TRACER-EXIT=0", Duration::from_secs(10));
}

#[test]
fn error_messages_are_neutralised() {
    let out = Command::new(common::bin())
        .arg("--replay")
        .arg(OsStr::from_bytes(b"/nonexistent/\x1b]0;PWNED\x07\x1b[2J"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        control_bytes(&out.stderr),
        b"",
        "{:?}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("\\x1b]0;PWNED"));
}
