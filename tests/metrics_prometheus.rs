//! `--metrics` with the real kernel program, the real binary and a real
//! Prometheus: exact per-command counts of runs the -d filter hides, an
//! exposition that promtool accepts and Prometheus ingests also when
//! process names hold quotes, braces and control bytes, and the cap on
//! command names. Each test counts only processes it ran under names of
//! its own, so other work on the host cannot change its figures.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::metrics::{
    parse_exposition, require_tool, sum, unix_now, wait_for, Exporter, Sample, ANY_PORT,
};
use common::prometheus::{promql_string, Prometheus};

const JOB: &str = "tracer-tui";
const EXITS: &str = "tracer_tui_process_exits_total";

/// After the last run ended: a tick of the backend (each second) has read
/// the kernel's counts and the exporter has applied them, with room for a
/// busy host.
const SETTLE: f64 = 2.5;
/// The longest wait for what should take seconds: a failure, not a slow host, past this.
const WAIT: Duration = Duration::from_secs(20);

/// A script named `name` (any bytes but '/' and NUL) in `dir` that exits
/// with its first argument: exec'd, its file name becomes the comm (the
/// kernel keeps the first 15 bytes).
fn script(dir: &Path, name: &[u8]) -> PathBuf {
    let path = dir.join(OsStr::from_bytes(name));
    std::fs::write(&path, "#!/bin/sh\nexit \"${1:-0}\"\n").expect("write the script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// Runs `path` with `code` as its exit code and checks that it ended so.
fn run(path: &Path, code: i32) {
    let status = Command::new(path)
        .arg(code.to_string())
        .stdin(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("run {path:?}: {e}"));
    assert_eq!(status.code(), Some(code), "{path:?} ended with {status}");
}

/// Process names that try to break the text format (quotes, backslashes,
/// braces, `=`, commas, spaces) or a terminal (control bytes), or that are
/// not clean UTF-8, each after a prefix of this test's own: the raw file
/// name, and the label value tracer-tui shows for it (control characters
/// as visible escapes, invalid UTF-8 replaced, 15 bytes kept). Two of them
/// show alike (an escape byte, and a backslash and `x1b` typed out): one
/// series counts both.
fn hostile_names(prefix: &str) -> Vec<(Vec<u8>, String)> {
    assert_eq!(prefix.len(), 6, "the names below fit 15 bytes after 6");
    let cases: [(&[u8], &str); 11] = [
        (b"\"q\\", "\"q\\"),
        (b"{a=b,c}", "{a=b,c}"),
        (b"x\"}\\n{", "x\"}\\n{"),
        (b"sp ace", "sp ace"),
        (b"\x1b[2J", "\\x1b[2J"),
        (b"\\x1b[2J", "\\x1b[2J"),
        (b"nl\nx", "nl\\x0ax"),
        (b"del\x7f", "del\\x7f"),
        (b"c1\xc2\x9b", "c1\\x9b"),
        (b"rtl\xe2\x80\xae", "rtl\\u{202e}"),
        // cut by the kernel in the middle of the fourth é; and a byte
        // that is never UTF-8
        (
            b"ab\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
            "ab\u{e9}\u{e9}\u{e9}\u{fffd}",
        ),
    ];
    let mut names: Vec<(Vec<u8>, String)> = cases
        .iter()
        .map(|(raw, shown)| {
            (
                [prefix.as_bytes(), raw].concat(),
                format!("{prefix}{shown}"),
            )
        })
        .collect();
    names.push((
        [prefix.as_bytes(), b"inv\xff"].concat(),
        format!("{prefix}inv\u{fffd}"),
    ));
    names
}

/// Runs each hostile name once, exiting 0; returns the label values
/// expected, each with its runs.
fn run_hostile(dir: &Path, prefix: &str) -> BTreeMap<String, f64> {
    let mut expected = BTreeMap::new();
    for (raw, shown) in hostile_names(prefix) {
        run(&script(dir, &raw), 0);
        *expected.entry(shown).or_default() += 1.0;
    }
    expected
}

/// A prefix no other process on the host has: a letter of this test's and
/// the low digits of this test binary's pid (6 bytes).
fn prefix(tag: char) -> String {
    format!("{tag}{:05}", std::process::id() % 100_000)
}

/// The samples of `name` whose comm starts with `prefix`, by comm.
fn by_comm<'a>(
    samples: &'a [Sample],
    name: &str,
    prefix: &str,
) -> BTreeMap<&'a str, Vec<&'a Sample>> {
    let mut out: BTreeMap<&str, Vec<&Sample>> = BTreeMap::new();
    for s in samples
        .iter()
        .filter(|s| s.name == name && s.label("comm").starts_with(prefix))
    {
        out.entry(s.label("comm")).or_default().push(s);
    }
    out
}

/// The issue's test: 307 runs of a probe too short for `-d 50ms` to show
/// are counted exactly, by outcome, as Prometheus stores them.
#[test]
fn prometheus_counts_every_short_run_exactly() {
    let test = "prometheus_counts_every_short_run_exactly";
    let Some(_guard) = common::bpf_test(test) else {
        return;
    };
    if !require_tool(test, "prometheus") {
        return;
    }
    let exporter = Exporter::start(&["--metrics", ANY_PORT, "--quiet", "-d", "50ms"]);
    // Prometheus takes its first scrape about 5 s after it starts (its
    // discovery passes targets on at most every 5 s): the runs go meanwhile,
    // counters keep them
    let prometheus = Prometheus::start(JOB, exporter.addr());

    let dir = tempfile::tempdir().expect("tempdir");
    let name = format!("prb{}", std::process::id());
    let probe = script(dir.path(), name.as_bytes());
    // the failures among the successes, as a real workload mixes them
    for i in 0..307 {
        run(&probe, i32::from(i % 43 == 42));
    }
    let ended = unix_now();

    let comm = format!("comm={}", promql_string(&name));
    let series = prometheus.settled(&format!("{EXITS}{{{comm}}}"), ended + SETTLE, WAIT);
    for s in &series {
        let n = s.samples.len();
        assert_eq!(
            s.samples[n - 2].1,
            s.samples[n - 1].1,
            "{EXITS} still changed after every run had ended: {s:?}"
        );
    }
    let value = |promql: &str| {
        prometheus
            .value(promql)
            .unwrap_or_else(|| panic!("Prometheus has no {promql}; it has {series:?}"))
    };
    assert_eq!(value(&format!("sum({EXITS}{{{comm}}})")), 307.0);
    assert_eq!(
        value(&format!("{EXITS}{{{comm},outcome=\"success\"}}")),
        300.0
    );
    assert_eq!(
        value(&format!("{EXITS}{{{comm},outcome=\"failure\"}}")),
        7.0
    );
    assert_eq!(value(&format!("{EXITS}{{{comm},outcome=\"signal\"}}")), 0.0);
    assert_eq!(
        value(&format!(
            "tracer_tui_process_duration_seconds_count{{{comm}}}"
        )),
        307.0
    );
    assert_eq!(
        value(&format!(
            "tracer_tui_process_duration_seconds_bucket{{{comm},le=\"+Inf\"}}"
        )),
        307.0
    );
    assert_eq!(value(&format!("up{{job=\"{JOB}\"}}")), 1.0);
}

/// `promtool check metrics` (the text format's parser and linter) accepts
/// a scrape taken while the exporter holds hostile names besides the host's.
#[test]
fn promtool_accepts_the_exposition_with_hostile_names() {
    let test = "promtool_accepts_the_exposition_with_hostile_names";
    let Some(_guard) = common::bpf_test(test) else {
        return;
    };
    if !require_tool(test, "promtool") {
        return;
    }
    let exporter = Exporter::start(&["--metrics", ANY_PORT, "--quiet"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let prefix = prefix('t');
    let expected = run_hostile(dir.path(), &prefix);
    // and a plain name among them, as any host has (a quiet host may have
    // run nothing else meanwhile)
    run(Path::new("/bin/true"), 0);

    let body = wait_for(
        "every hostile name and true in the exposition",
        WAIT,
        || {
            let body = exporter.scrape();
            let samples = parse_exposition(&body);
            let runs: BTreeMap<String, f64> = by_comm(&samples, EXITS, &prefix)
                .into_iter()
                .map(|(comm, s)| (comm.to_string(), s.iter().map(|s| s.value).sum()))
                .collect();
            let plain = sum(&samples, EXITS, &[("comm", "true")]) >= 1.0;
            (runs == expected && plain).then_some(body)
        },
        || {
            let samples = parse_exposition(&exporter.scrape());
            format!(
                "expected {expected:?}, exposition has {:?}",
                by_comm(&samples, EXITS, &prefix).keys().collect::<Vec<_>>()
            )
        },
    );
    let samples = parse_exposition(&body);
    for (name, runs) in &expected {
        assert_eq!(
            sum(&samples, EXITS, &[("comm", name), ("outcome", "success")]),
            *runs,
            "{name:?}"
        );
    }

    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    // promtool stops reading at a parse error, and its answer says where:
    // a write cut short is reported by the assertion below
    let fed = promtool
        .stdin
        .take()
        .expect("stdin")
        .write_all(body.as_bytes());
    let out = promtool.wait_with_output().expect("promtool");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty() && fed.is_ok(),
        "promtool check metrics: {} ({fed:?}): {said}\nexposition:\n{body}",
        out.status
    );
}

/// Prometheus ingests the hostile names (the target up, no scrape error,
/// no sample refused) and stores each under the label value tracer-tui
/// shows for it, found by a regex and by an exact match.
#[test]
fn prometheus_ingests_hostile_names_as_tracer_tui_shows_them() {
    let test = "prometheus_ingests_hostile_names_as_tracer_tui_shows_them";
    let Some(_guard) = common::bpf_test(test) else {
        return;
    };
    if !require_tool(test, "prometheus") {
        return;
    }
    let exporter = Exporter::start(&["--metrics", ANY_PORT, "--quiet"]);
    // Prometheus takes its first scrape about 5 s after it starts (its
    // discovery passes targets on at most every 5 s): the runs go meanwhile,
    // counters keep them
    let prometheus = Prometheus::start(JOB, exporter.addr());
    let dir = tempfile::tempdir().expect("tempdir");
    let prefix = prefix('h');
    let expected = run_hostile(dir.path(), &prefix);
    let ended = unix_now();

    let selector = format!("{EXITS}{{comm=~\"{prefix}.*\",outcome=\"success\"}}");
    let series = prometheus.settled(&selector, ended + SETTLE, WAIT);
    let stored: BTreeMap<String, f64> = series
        .iter()
        .map(|s| (s.label("comm").to_string(), s.value()))
        .collect();
    assert_eq!(stored, expected);
    for s in &series {
        let first = s.samples[0].1;
        assert!(
            s.samples.iter().all(|&(_, v)| v == first),
            "{:?} changed after its runs had ended: {s:?}",
            s.label("comm")
        );
    }
    for (name, runs) in &expected {
        let exact = format!(
            "{EXITS}{{comm={},outcome=\"success\"}}",
            promql_string(name)
        );
        assert_eq!(prometheus.value(&exact), Some(*runs), "{exact}");
    }

    assert_eq!(prometheus.value(&format!("up{{job=\"{JOB}\"}}")), Some(1.0));
    let (health, error) = prometheus.target();
    assert_eq!((health.as_str(), error.as_str()), ("up", ""));
    // samples a scrape brought but Prometheus refused: a series repeated
    // (two names shown alike), out of order, or out of bounds
    let own = prometheus.own_metrics();
    let refused: Vec<&Sample> = own
        .iter()
        .filter(|s| s.name.starts_with("prometheus_target_scrapes_") && s.value != 0.0)
        .collect();
    assert!(
        refused.is_empty(),
        "Prometheus refused samples: {refused:?}"
    );
}

/// With --metrics-max-commands 100 and a thousand new names, the series
/// stay within 100 names and `other`, at least 900 names are folded, and
/// no run is lost on the way; a folded name that becomes far busier than
/// the least active named one wins a series of its own, from zero.
#[test]
fn a_thousand_names_fold_into_other_past_the_cap() {
    let test = "a_thousand_names_fold_into_other_past_the_cap";
    let Some(_guard) = common::bpf_test(test) else {
        return;
    };
    let exporter = Exporter::start(&[
        "--metrics",
        ANY_PORT,
        "--quiet",
        "--metrics-max-commands",
        "100",
    ]);
    let tag = format!("f{}", std::process::id());
    let original = tempfile::tempdir().expect("tempdir");
    let probe = script(original.path(), b"probe");
    let dir = tempfile::tempdir().expect("tempdir");
    let names: Vec<String> = (0..1000).map(|i| format!("{tag}{i:03}")).collect();
    for name in &names {
        std::fs::hard_link(&probe, dir.path().join(name)).expect("link the probe");
    }
    // let the exporter count what the host ran before: `other` grows from here
    let before = parse_exposition(&exporter.scrape());
    let other_before = sum(&before, EXITS, &[("comm", "other")]);

    // one shell runs them all: a thousand spawns from here would cost more
    let started = Instant::now();
    let status = Command::new("sh")
        .arg("-c")
        .arg(r#"for f in "$1"/*; do "$f" || exit 1; done"#)
        .arg("sh")
        .arg(dir.path())
        .status()
        .expect("run the loop");
    assert!(status.success(), "the loop of probes: {status}");
    let ended = Instant::now();
    eprintln!("ran 1000 names in {:?}", ended - started);

    let distinct = |samples: &[Sample]| -> BTreeSet<String> {
        samples
            .iter()
            .filter(|s| s.name == EXITS)
            .map(|s| s.label("comm").to_string())
            .collect()
    };
    let folded = |samples: &[Sample]| sum(samples, "tracer_tui_commands_folded_total", &[]);
    let mine = |samples: &[Sample]| -> f64 {
        samples
            .iter()
            .filter(|s| s.name == EXITS && s.label("comm").starts_with(&tag))
            .map(|s| s.value)
            .sum()
    };
    let counted = |samples: &[Sample]| {
        mine(samples) + sum(samples, EXITS, &[("comm", "other")]) - other_before
    };
    let check_cap = |samples: &[Sample]| {
        let comms = distinct(samples);
        assert!(
            comms.len() <= 101,
            "{} names in {EXITS}, past 100 and other",
            comms.len()
        );
    };
    let after = wait_for(
        "the thousand names counted and folded",
        WAIT,
        || {
            let samples = parse_exposition(&exporter.scrape());
            check_cap(&samples);
            // every run has been read by a tick: none of the names is left
            // to arrive (and get a series) later
            let read = ended.elapsed().as_secs_f64() >= SETTLE;
            (read && folded(&samples) >= 900.0 && counted(&samples) >= 1000.0).then_some(samples)
        },
        || {
            let samples = parse_exposition(&exporter.scrape());
            format!(
                "folded {}, runs of mine or in other {}, lost {:?}",
                folded(&samples),
                counted(&samples),
                samples
                    .iter()
                    .filter(|s| s.name == "tracer_tui_events_lost_total" && s.value > 0.0)
                    .collect::<Vec<_>>()
            )
        },
    );
    assert!(
        distinct(&after).contains("other"),
        "no comm=\"other\" series after folding"
    );
    let named: BTreeMap<&str, Vec<&Sample>> = by_comm(&after, EXITS, &tag);
    assert!(named.len() <= 100, "{} of my names kept", named.len());
    for (comm, samples) in &named {
        let by_outcome: BTreeMap<&str, f64> = samples
            .iter()
            .map(|s| (s.label("outcome"), s.value))
            .collect();
        assert_eq!(
            by_outcome,
            BTreeMap::from([("failure", 0.0), ("signal", 0.0), ("success", 1.0)]),
            "{comm} ran once"
        );
    }

    // a folded name that becomes far busier wins a place: its series
    // starts at zero, its runs so far having gone to other
    let busy = names
        .iter()
        .find(|n| !named.contains_key(n.as_str()))
        .expect("a folded name");
    let other_then = sum(&after, EXITS, &[("comm", "other")]);
    let status = Command::new("sh")
        .arg("-c")
        .arg(r#"i=0; while [ $i -lt 50 ]; do "$1" || exit 1; i=$((i+1)); done"#)
        .arg("sh")
        .arg(dir.path().join(busy))
        .status()
        .expect("run the loop");
    assert!(status.success(), "the loop of {busy}: {status}");
    let series = [("comm", busy.as_str()), ("outcome", "success")];
    // the loop may straddle a read: the runs read before it won its place
    // are in other, those after in its series
    let samples = wait_for(
        &format!("a series of {busy} after 50 runs"),
        WAIT,
        || {
            let samples = parse_exposition(&exporter.scrape());
            check_cap(&samples);
            let has = samples
                .iter()
                .any(|s| s.name == EXITS && s.label("comm") == busy);
            let both = sum(&samples, EXITS, &[("comm", "other")]) - other_then
                + sum(&samples, EXITS, &series);
            (has && both >= 50.0).then_some(samples)
        },
        || format!("other had {other_then}"),
    );
    let own = sum(&samples, EXITS, &series);
    assert!(own < 50.0, "{busy} began at 0, not at its count: {own}");
    run(&dir.path().join(busy), 0);
    wait_for(
        &format!("the next run of {busy} in its own series"),
        WAIT,
        || {
            let samples = parse_exposition(&exporter.scrape());
            (sum(&samples, EXITS, &series) == own + 1.0).then_some(())
        },
        || format!("{busy} had {own}"),
    );
}
