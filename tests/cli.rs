//! The command line as a user meets it: flags, errors, exit codes, headless
//! output and privilege handling, using the real binary.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

fn tracer(args: &[&str]) -> Output {
    Command::new(common::bin())
        .args(args)
        .output()
        .expect("run tracer-tui")
}

/// As `tracer`, for runs that should stop at once: one that goes on (a
/// flag wrongly accepted, tracing) is killed after a few seconds.
fn tracer_stopping(args: &[&str]) -> Output {
    let mut child = Command::new(common::bin())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tracer-tui");
    let deadline = Instant::now() + Duration::from_secs(5);
    while child.try_wait().expect("wait").is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    child.wait_with_output().expect("output")
}

fn assert_one_line_error(out: &Output, code: i32, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    assert_eq!(
        stderr.lines().count(),
        1,
        "one line expected, got: {stderr:?}"
    );
    assert!(stderr.starts_with("tracer-tui: "), "{stderr}");
    assert!(stderr.contains(needle), "{needle:?} not in {stderr:?}");
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_flags_and_durations_are_one_line_exit_2() {
    assert_one_line_error(&tracer(&["-d", "soon"]), 2, "--min-duration");
    assert_one_line_error(&tracer(&["-d", "-5"]), 2, "");
    assert_one_line_error(&tracer(&["--min-duration", "400days"]), 2, "365 days");
    assert_one_line_error(&tracer(&["--bogus"]), 2, "--bogus");
    assert_one_line_error(&tracer(&["--json", "--stream"]), 2, "cannot be used with");
    assert_one_line_error(&tracer(&["--ring-buffer", "3"]), 2, "power of two");
    assert_one_line_error(&tracer(&["extra"]), 2, "extra");
}

#[test]
fn help_and_version() {
    let help = tracer(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--min-duration",
        "--stream",
        "--json",
        "--verbose",
        "--ring-buffer",
        "--btf",
    ] {
        assert!(text.contains(flag), "{flag} missing from --help");
    }
    let version = tracer(&["--version"]);
    assert_eq!(version.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("tracer-tui "));
}

#[test]
fn speed_needs_replay_and_says_what_it_allows() {
    assert_one_line_error(&tracer(&["--speed", "2"]), 2, "--replay");
    // clap waives a requirement that conflicts with a flag given
    for mode in ["--json", "--stream"] {
        assert_one_line_error(&tracer_stopping(&[mode, "--speed", "2"]), 2, "--speed");
    }
    assert_one_line_error(
        &tracer_stopping(&["--record", "f", "--speed", "2"]),
        2,
        "--speed",
    );
    for bad in ["-1", "0", "20000"] {
        let out = tracer(&["--replay", "f", "--speed", bad]);
        assert_one_line_error(&out, 2, "from 0.01 (a hundredth) to 10000");
    }
    let help = String::from_utf8_lossy(&tracer(&["--help"]).stdout).into_owned();
    assert!(help.contains("from 0.01 to 10000"), "{help}");
}

/// A replay file of one process, valid to the reader.
fn one_event_file(dir: &std::path::Path) -> String {
    let path = dir.join("one.ndjson");
    std::fs::write(
        &path,
        "{\"event\":\"exec\",\"time\":\"2024-01-01T00:00:00Z\",\"pid\":1,\"ppid\":0,\"uid\":0,\"comm\":\"a\",\"filename\":\"/a\",\"argv\":[]}\n",
    )
    .expect("write");
    path.to_str().expect("utf-8 path").to_string()
}

#[test]
fn without_a_terminal_each_dashboard_mode_suggests_only_what_combines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = one_event_file(dir.path());
    // output() pipes stdout: no terminal to draw on
    let replay = tracer(&["--replay", &file]);
    assert_one_line_error(
        &replay,
        1,
        "--replay shows the recording in the dashboard, which needs a terminal",
    );
    let stderr = String::from_utf8_lossy(&replay.stderr);
    for flag in ["--stream", "--json", "--record"] {
        assert!(
            !stderr.contains(flag),
            "--replay cannot be used with {flag}: {stderr}"
        );
    }
}

#[test]
fn without_a_terminal_live_and_record_say_what_to_use() {
    // they load the program before they need the terminal
    let Some(_serial) = common::bpf_test("without_a_terminal_live_and_record_say_what_to_use")
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let rec = dir.path().join("rec");
    let record = tracer(&["--record", rec.to_str().expect("utf-8 path")]);
    assert_one_line_error(
        &record,
        1,
        "--record records what the dashboard shows, which needs a terminal",
    );
    assert!(!String::from_utf8_lossy(&record.stderr).contains("--stream"));
    assert_one_line_error(
        &tracer(&[]),
        1,
        "the dashboard needs a terminal (without one, use --stream or --json)",
    );
}

#[test]
fn a_bare_fractional_min_duration_is_accepted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = one_event_file(dir.path());
    // accepted: the run goes on to need a terminal, rather than stopping at the flag
    let out = tracer(&["-d", "1.5", "--replay", &file]);
    assert_one_line_error(&out, 1, "needs a terminal");
    assert_one_line_error(&tracer(&["-d", "1.5.0"]), 2, "--min-duration");
}

#[test]
fn missing_btf_is_one_line() {
    assert_one_line_error(
        &tracer(&["--json", "--btf", "/nonexistent/vmlinux"]),
        1,
        "BTF file /nonexistent/vmlinux not found",
    );
}

/// The binary, running, with its stdout lines arriving on a channel.
struct Running {
    child: Child,
    lines: Receiver<String>,
}

fn start(args: &[&str]) -> Running {
    let child = Command::new(common::bin())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tracer-tui");
    Running::watch(child)
}

impl Running {
    /// Reads the child's stdout lines onto a channel as they come.
    fn watch(mut child: Child) -> Running {
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running { child, lines }
    }

    /// Runs `marker` processes until a line containing `needle` appears.
    fn wait_for(&self, needle: &str, spawn: &dyn Fn()) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            spawn();
            // a busy host's events must not keep the marker from being run
            // again: read for 100 ms, then spawn once more
            let round = Instant::now() + Duration::from_millis(100);
            while let Ok(line) = self
                .lines
                .recv_timeout(round.saturating_duration_since(Instant::now()))
            {
                let hit = line.contains(needle);
                seen.push(line);
                if hit {
                    return seen;
                }
            }
        }
        panic!("{needle:?} never appeared; saw {} lines", seen.len());
    }

    fn signal(&self, sig: i32) {
        // SAFETY: kill with a pid we spawned and a valid signal number.
        unsafe { libc::kill(self.child.id() as i32, sig) };
    }

    fn finish(mut self) -> (Option<i32>, String, Vec<String>) {
        let status = self.child.wait().expect("wait");
        let mut stderr = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
        }
        let rest = self.lines.iter().collect();
        (status.code(), stderr, rest)
    }
}

fn spawn_quiet(cmd: &str, args: &[&str]) {
    let _ = Command::new(cmd).args(args).stdout(Stdio::null()).status();
}

#[test]
fn json_piped_into_head_exits_zero_with_one_valid_line() {
    let Some(_serial) = common::bpf_test("json_piped_into_head_exits_zero_with_one_valid_line")
    else {
        return;
    };
    let script = format!(
        "{} --json | head -1 > \"$1\" & p=$!; \
         for i in $(seq 100); do /bin/true; sleep 0.05; [ -s \"$1\" ] && break; done; \
         wait $p; echo $?",
        common::bin()
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let out_file = dir.path().join("line");
    // pipefail: the pipeline's status is tracer-tui's if it fails
    let out = Command::new("bash")
        .args(["-o", "pipefail", "-c", &script, "sh"])
        .arg(&out_file)
        .output()
        .expect("bash");
    let status = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(
        status,
        "0",
        "pipeline status; stderr {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&out_file).expect("output");
    assert_eq!(text.lines().count(), 1);
    let v: serde_json::Value = serde_json::from_str(text.trim()).expect("valid JSON");
    // any process's first event: other processes run too
    let kinds = ["exec", "exit", "exec_failed", "gone", "lost"];
    assert!(kinds.iter().any(|k| v["event"] == *k), "{v}");
}

#[test]
fn sigterm_sigint_and_sighup_end_cleanly_and_flush() {
    let Some(_serial) = common::bpf_test("sigterm_sigint_and_sighup_end_cleanly_and_flush") else {
        return;
    };
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        let run = start(&["--json"]);
        run.wait_for("sigtest-marker", &|| {
            spawn_quiet("/bin/echo", &["sigtest-marker"])
        });
        // an event right before the signal must still be written
        spawn_quiet("/bin/echo", &["last-before-signal"]);
        std::thread::sleep(Duration::from_millis(10));
        run.signal(sig);
        let (code, stderr, rest) = run.finish();
        assert_eq!(code, Some(0), "signal {sig}: {stderr}");
        assert!(stderr.is_empty(), "{stderr}");
        assert!(
            rest.iter().any(|l| l.contains("last-before-signal")),
            "not flushed on signal {sig}"
        );
    }
}

#[test]
fn stream_with_min_duration_prints_exec_before_each_exit() {
    let Some(_serial) = common::bpf_test("stream_with_min_duration_prints_exec_before_each_exit")
    else {
        return;
    };
    let run = start(&["--stream", "-d", "100"]);
    let short_pids = std::sync::Mutex::new(Vec::new());
    let mut lines = run.wait_for("[SIGKILL]", &|| {
        let mut short = Command::new("sleep").arg("0.01").spawn().expect("spawn");
        short_pids
            .lock()
            .expect("pids")
            .push(short.id().to_string());
        let _ = short.wait();
        let mut c = Command::new("sleep").arg("5").spawn().expect("spawn");
        std::thread::sleep(Duration::from_millis(150));
        let _ = c.kill();
        let _ = c.wait();
    });
    // a short exit would have arrived by now
    std::thread::sleep(Duration::from_millis(300));
    run.signal(libc::SIGTERM);
    let (code, _, rest) = run.finish();
    assert_eq!(code, Some(0));
    lines.extend(rest);
    assert!(lines[0].starts_with("TIME     EVENT COMM"), "{}", lines[0]);
    let exit = lines
        .iter()
        .position(|l| l.contains("[SIGKILL]"))
        .expect("exit line");
    let exec = &lines[exit - 1];
    assert!(
        exec.contains("EXEC") && exec.contains("sleep") && exec.contains("/sleep"),
        "{exec}\nall lines:\n{}",
        lines.join("\n")
    );
    let pid = lines[exit].split_whitespace().nth(3).expect("pid column");
    assert_eq!(exec.split_whitespace().nth(3), Some(pid));
    let short_pids = short_pids.into_inner().expect("pids");
    // failed execs are printed whatever the filter, and the PATH lookup of
    // `sleep` makes some (ENOENT) once tracing is attached in time to see them
    let shown = lines
        .iter()
        .filter(|l| l.split_whitespace().nth(1) != Some("FAIL"));
    for line in shown {
        let pid = line.split_whitespace().nth(3).unwrap_or_default();
        assert!(
            !short_pids.iter().any(|p| p == pid),
            "a 10 ms sleep passed a 100 ms filter: {line}"
        );
    }
}

#[test]
fn needs_privilege_and_works_with_cap_bpf_and_cap_perfmon() {
    let Some(_serial) = common::bpf_test("needs_privilege_and_works_with_cap_bpf_and_cap_perfmon")
    else {
        return;
    };
    let unprivileged = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .args([common::bin(), "--json"])
        .output()
        .expect("setpriv");
    assert_one_line_error(&unprivileged, 1, "needs root or CAP_BPF+CAP_PERFMON");

    let child = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all,+bpf,+perfmon",
            "--ambient-caps=-all,+bpf,+perfmon",
        ])
        .args([common::bin(), "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("setpriv");
    let run = Running::watch(child);
    let seen = run.wait_for("capability-marker", &|| {
        spawn_quiet("/bin/echo", &["capability-marker"])
    });
    assert!(seen
        .iter()
        .any(|l| l.contains("\"argv\":[\"/bin/echo\",\"capability-marker\"]")));
    run.signal(libc::SIGTERM);
    let (code, stderr, _) = run.finish();
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn verbose_routes_libbpf_log_to_stderr_and_quiet_otherwise() {
    let Some(_serial) = common::bpf_test("verbose_routes_libbpf_log_to_stderr_and_quiet_otherwise")
    else {
        return;
    };
    for (args, chatty) in [(&["--json", "-v"][..], true), (&["--json"][..], false)] {
        let run = start(args);
        run.wait_for("verbose-marker", &|| {
            spawn_quiet("/bin/echo", &["verbose-marker"])
        });
        run.signal(libc::SIGTERM);
        let (code, stderr, _) = run.finish();
        assert_eq!(code, Some(0));
        assert_eq!(stderr.contains("libbpf: "), chatty, "{args:?}: {stderr}");
    }
}

#[test]
fn bad_replay_files_are_one_line_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.ndjson");
    std::fs::write(
        &bad,
        "{\"event\":\"exec\",\"time\":\"2024-01-01T00:00:00Z\",\"pid\":1,\"ppid\":0,\"uid\":0,\"comm\":\"a\",\"filename\":\"/a\",\"argv\":[]}\nnot json\x1b[2J\n",
    )
    .expect("write");
    let out = tracer(&["--replay", bad.to_str().expect("utf-8 path")]);
    assert_one_line_error(&out, 1, "bad.ndjson:2: not a tracer-tui record");
    assert!(!String::from_utf8_lossy(&out.stderr).contains('\x1b'));
    assert_one_line_error(
        &tracer(&["--replay", "/nonexistent/rec"]),
        1,
        "reading /nonexistent/rec",
    );

    let link = dir.path().join("link");
    std::os::unix::fs::symlink(dir.path().join("elsewhere"), &link).expect("symlink");
    let out = tracer(&["--record", link.to_str().expect("utf-8 path")]);
    assert_one_line_error(&out, 1, "is a symbolic link");
    assert!(!dir.path().join("elsewhere").exists());
}

#[test]
fn an_ignored_sighup_stays_ignored() {
    let Some(_serial) = common::bpf_test("an_ignored_sighup_stays_ignored") else {
        return;
    };
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(common::bin());
    cmd.arg("--json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // as nohup starts it
    // SAFETY: only signal(2) runs between fork and exec, which is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            Ok(())
        });
    }
    let child = cmd.spawn().expect("spawn tracer-tui");
    let run = Running::watch(child);
    run.wait_for("nohup-marker-1", &|| {
        spawn_quiet("/bin/echo", &["nohup-marker-1"])
    });
    run.signal(libc::SIGHUP);
    // still tracing after the hangup
    run.wait_for("nohup-marker-2", &|| {
        spawn_quiet("/bin/echo", &["nohup-marker-2"])
    });
    run.signal(libc::SIGTERM);
    let (code, stderr, _) = run.finish();
    assert_eq!(code, Some(0), "{stderr}");
}
