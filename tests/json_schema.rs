//! The `--json` records against docs/json.schema.json: what the real binary
//! writes for every line type must validate, each type must really have been
//! seen (so no test passes on an empty output), and the schema must reject
//! an undocumented key or a wrong type (so the validator is shown to be live).

mod common;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tracer_tui::event::{Drops, ExecStep, FailedExec, TraceEvent, Usage, WallTime};
use tracer_tui::record;

const SCHEMA_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/json.schema.json");

/// A scoped run ends by itself; past this it is stuck.
const RUN_LIMIT: Duration = Duration::from_secs(30);

/// The compiled schema.
struct Schema {
    schemas: boon::Schemas,
    root: boon::SchemaIndex,
}

impl Schema {
    fn load() -> Schema {
        let text = std::fs::read_to_string(SCHEMA_PATH).expect("docs/json.schema.json");
        let doc: Value = serde_json::from_str(&text).expect("the schema is JSON");
        let id = doc["$id"]
            .as_str()
            .expect("the schema has an $id")
            .to_string();
        let mut compiler = boon::Compiler::new();
        // `time` says date-time: check it, not only note it
        compiler.enable_format_assertions();
        compiler.add_resource(&id, doc).expect("add the schema");
        let mut schemas = boon::Schemas::new();
        let root = compiler
            .compile(&id, &mut schemas)
            .unwrap_or_else(|e| panic!("the schema does not compile: {e:#}"));
        Schema { schemas, root }
    }

    fn errors(&self, line: &Value) -> Option<String> {
        self.schemas
            .validate(line, self.root)
            .err()
            .map(|e| format!("{e}"))
    }

    /// Validates every line, panicking on the first that fails; returns how
    /// many lines of each event type there were.
    fn check_all(&self, lines: &[Value]) -> BTreeMap<String, usize> {
        let mut seen = BTreeMap::new();
        for line in lines {
            if let Some(e) = self.errors(line) {
                panic!("a line does not match the schema:\n{line}\n{e}");
            }
            let event = line["event"].as_str().unwrap_or_default().to_string();
            *seen.entry(event).or_default() += 1;
        }
        seen
    }
}

fn parse_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
        .collect()
}

/// Runs tracer-tui (with `args`) to its own end; returns its stdout lines.
fn run_to_end(args: &[&OsStr]) -> Vec<Value> {
    let dir = tempfile::tempdir().expect("tempdir");
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let mut child = Command::new(common::bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).expect("stdout file"))
        .stderr(std::fs::File::create(&err).expect("stderr file"))
        .spawn()
        .expect("spawn tracer-tui");
    let deadline = Instant::now() + RUN_LIMIT;
    let status = common::wait_until_ended(&mut child, deadline, &format!("{args:?}"));
    let stderr = std::fs::read_to_string(&err).unwrap_or_default();
    assert!(status.success(), "tracer-tui: {status}: {stderr}");
    parse_lines(&std::fs::read_to_string(&out).expect("stdout"))
}

fn os<'a>(args: &[&'a str]) -> Vec<&'a OsStr> {
    args.iter().map(|a| OsStr::new(*a)).collect()
}

fn has(lines: &[Value], what: impl Fn(&Value) -> bool) -> bool {
    lines.iter().any(what)
}

/// A script whose file name holds a quote, an apostrophe, a backslash, an
/// escape sequence and a right-to-left override: the names a JSON writer or
/// a consumer's parser most often gets wrong.
fn hostile_script(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join(OsStr::from_bytes(b"q\"a'b\\c\x1b[2J\xe2\x80\xae.sh"));
    std::fs::write(&path, "#!/bin/sh\nexit 0\n").expect("write script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

#[test]
fn every_line_of_a_traced_command_matches_the_schema() {
    let Some(_guard) = common::bpf_test("json_schema::command") else {
        return;
    };
    let schema = Schema::load();
    let dir = tempfile::tempdir().expect("tempdir");
    let hostile = hostile_script(dir.path());
    // an exit code, a signal death, an exec of a missing path, a hostile
    // name with hostile argv; the script's own exit 0 is tracer-tui's
    let script = "\"$1\" \"$2\" \"$3\"; \
                  sh -c 'exit 3'; \
                  sh -c 'kill -KILL $$'; \
                  /nonexistent-json-schema/cmd 2>/dev/null; \
                  exit 0";
    let mut args = os(&["--json", "--", "sh", "-c", script, "sh"]);
    args.push(hostile.as_os_str());
    args.push(OsStr::from_bytes(b"\x1b]0;PWNED\x07"));
    args.push(OsStr::from_bytes(b"\xff\xfe\"\\"));
    let lines = run_to_end(&args);
    let seen = schema.check_all(&lines);
    eprintln!("event types seen: {seen:?}");
    for kind in ["exec", "exit", "exec_failed"] {
        assert!(seen.contains_key(kind), "no {kind} line: {seen:?}");
    }
    assert!(
        has(&lines, |l| l["event"] == "exit" && l["exit_code"] == 3),
        "no exit with code 3"
    );
    assert!(
        has(&lines, |l| l["event"] == "exit"
            && l["signal_name"] == "SIGKILL"
            && l["exit_code"].is_null()),
        "no exit by SIGKILL"
    );
    assert!(
        has(&lines, |l| l["event"] == "exec_failed"
            && l["error"] == "ENOENT"),
        "no failed exec of the missing path"
    );
    assert!(
        has(&lines, |l| l["event"] == "exec"
            && l["filename"].as_str().is_some_and(
                |f| f.contains("q\"a'b\\c\\x1b[2J\\u{202e}.sh")
            )),
        "no exec of the hostile script, its name made visible"
    );
}

#[test]
fn lost_lines_and_processes_not_kept_match_the_schema() {
    let Some(_guard) = common::bpf_test("json_schema::lost") else {
        return;
    };
    let schema = Schema::load();
    // a pid map of 16 cannot hold 40 processes alive at once: the kernel
    // counts each one it could not keep, and tracer-tui reports the totals.
    // -d: exits come with their exec, as that mode writes them
    let script = "for i in $(seq 40); do sleep 0.3 & done; wait";
    let lines = run_to_end(&os(&[
        "--json",
        "--max-processes",
        "16",
        "-d",
        "50ms",
        "--",
        "sh",
        "-c",
        script,
    ]));
    let seen = schema.check_all(&lines);
    eprintln!("event types seen: {seen:?}");
    assert!(
        has(&lines, |l| l["event"] == "lost"
            && l["pid_map_full"].as_u64().is_some_and(|n| n > 0)),
        "no lost line counting a full pid map: {seen:?}"
    );
    assert!(
        has(&lines, |l| l["event"] == "exit" && l["comm"] == "sleep"),
        "no sleep outlived -d: {seen:?}"
    );
    assert!(
        has(&lines, |l| l["not_kept"] == true),
        "no process marked not_kept: {seen:?}"
    );
}

#[test]
fn a_whole_host_run_matches_the_schema() {
    let Some(_guard) = common::bpf_test("json_schema::host") else {
        return;
    };
    let schema = Schema::load();
    let tracer = common::JsonTracer::start(&[]);
    // processes that were running before it started end meanwhile too
    let _ = Command::new("sh")
        .args(["-c", "sleep 0.2 & sh -c 'exit 7'; wait"])
        .status();
    std::thread::sleep(Duration::from_millis(500));
    let lines = tracer.stop();
    let seen = schema.check_all(&lines);
    eprintln!("event types seen: {seen:?}");
    assert!(
        has(&lines, |l| l["event"] == "exit" && l["exit_code"] == 7),
        "no exit with code 7: {seen:?}"
    );
}

/// `--json` writes no `gone` lines with -d (an exit there is written with
/// its exec; processes the filter hid are left out), and without -d only
/// after exit events were lost. `--record` writes the same lines through
/// the same serializer, and with -d it records the hidden processes as gone.
#[test]
fn gone_lines_of_a_recording_match_the_schema() {
    let Some(_guard) = common::bpf_test("json_schema::gone") else {
        return;
    };
    let schema = Schema::load();
    let (text, ()) = common::record_filtered("jsonschema", || {
        for _ in 0..10 {
            let _ = Command::new("true").status();
        }
    });
    let lines = parse_lines(&text);
    let seen = schema.check_all(&lines);
    eprintln!("event types seen: {seen:?}");
    assert!(seen.contains_key("gone"), "no gone line: {seen:?}");
    assert!(
        has(&lines, |l| l["event"] == "exec" && l["origin"] == "proc"),
        "no process read from /proc: {seen:?}"
    );
}

/// Every key the serializer can write, including those a short real run
/// rarely shows (history with failed attempts, usage, a dropped count).
#[test]
fn the_serializers_fullest_lines_match_the_schema() {
    let schema = Schema::load();
    let mut p = common::recorded(4242, "make", 1_700_000_000_000_000_000, "full");
    p.history = vec![ExecStep {
        time: WallTime(1_700_000_000_000_000_000),
        comm: "sh".into(),
        filename: "/nope/make".into(),
        argv: vec!["make".into()],
        argv_truncated: true,
        errno: Some(2),
        tried: vec!["/usr/local/bin/make".into()],
        attempts: 2,
    }];
    p.history_dropped = 3;
    p.not_kept = true;
    let TraceEvent::Exit(mut exit) = common::recorded_exit(p.clone(), 5, 11 | 0x80) else {
        unreachable!("recorded_exit makes an exit")
    };
    exit.usage = Some(Usage {
        cpu_user_ns: 1,
        cpu_system_ns: 2,
        max_rss_kib: 3,
        minor_faults: 4,
        major_faults: 5,
        read_bytes: Some(6),
        write_bytes: Some(7),
        voluntary_switches: 8,
        involuntary_switches: 9,
    });
    let drops = Drops {
        exec_ringbuf: 1,
        exit_ringbuf: 2,
        pid_map_full: 3,
        exec_failed_ringbuf: 4,
        fork_ringbuf: 5,
        undecodable: 6,
        traced_full: 7,
    };
    let events = [
        TraceEvent::Exec(p),
        TraceEvent::Exit(exit),
        TraceEvent::Lost {
            time: WallTime(1_700_000_000_000_000_000),
            drops,
        },
    ];
    let lines: Vec<Value> = events
        .iter()
        .map(|e| serde_json::from_str(&record::to_line(e)).expect("JSON"))
        .collect();
    let seen = schema.check_all(&lines);
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(lines[1]["core_dumped"], true);
    assert_eq!(lines[1]["read_bytes"], 6);
}

/// The schema rejects what it must, or a passing test would prove nothing.
#[test]
fn the_schema_rejects_unknown_keys_and_wrong_types() {
    let schema = Schema::load();
    let p = common::recorded(4242, "true", 1_700_000_000_000_000_000, "neg");
    let exec: Value =
        serde_json::from_str(&record::to_line(&TraceEvent::Exec(p.clone()))).expect("JSON");
    let exit: Value =
        serde_json::from_str(&record::to_line(&common::recorded_exit(p, 5, 3 << 8))).expect("JSON");
    let time = WallTime(1_700_000_000_000_000_000);
    let gone: Value = serde_json::from_str(&record::to_line(&TraceEvent::Gone {
        time,
        processes: vec![(4242, time)],
    }))
    .expect("JSON");
    let lost: Value = serde_json::from_str(&record::to_line(&TraceEvent::Lost {
        time,
        drops: Drops::default(),
    }))
    .expect("JSON");
    let failed: Value =
        serde_json::from_str(&record::to_line(&TraceEvent::ExecFailed(FailedExec {
            pid: 4242,
            errno: 2,
            time,
            start: time,
            ..Default::default()
        })))
        .expect("JSON");
    for good in [&exec, &exit, &gone, &lost, &failed] {
        assert_eq!(schema.errors(good), None, "{good}");
    }

    let changed = |base: &Value, key: &str, value: Value| {
        let mut v = base.clone();
        v[key] = value;
        v
    };
    let without = |base: &Value, key: &str| {
        let mut v = base.clone();
        v.as_object_mut().expect("an object").remove(key);
        v
    };
    let bad = [
        ("an undocumented key", changed(&exec, "schema", json!(1))),
        ("pid as a string", changed(&exec, "pid", json!("4242"))),
        ("a negative uid", changed(&exec, "uid", json!(-1))),
        (
            "an unknown origin",
            changed(&exec, "origin", json!("clone")),
        ),
        (
            "a time without nanoseconds",
            changed(&exec, "time", json!("2023-11-14T22:13:20Z")),
        ),
        (
            "a raw escape byte",
            changed(&exec, "comm", json!("a\u{1b}[2J")),
        ),
        ("no argv", without(&exec, "argv")),
        ("an unknown event", changed(&exec, "event", json!("fork"))),
        ("a code and a signal", changed(&exit, "signal", json!(9))),
        ("no exit_code", without(&exit, "exit_code")),
        ("half the usage", changed(&exit, "cpu_user_ns", json!(1))),
        (
            "a gone pid of 0",
            changed(
                &gone,
                "processes",
                json!([{"pid": 0, "start_time": gone["time"]}]),
            ),
        ),
        ("an empty gone", changed(&gone, "processes", json!([]))),
        ("no fork_ringbuf", without(&lost, "fork_ringbuf")),
        (
            "a negative count",
            changed(&lost, "exec_ringbuf", json!(-1)),
        ),
        ("an errno of 0", changed(&failed, "errno", json!(0))),
        (
            "a lowercase error",
            changed(&failed, "error", json!("enoent")),
        ),
        (
            "a cgroup_id on a failed exec",
            changed(&failed, "cgroup_id", json!(1)),
        ),
    ];
    for (what, line) in bad {
        assert!(
            schema.errors(&line).is_some(),
            "{what} was accepted: {line}"
        );
    }
}
