//! Property tests: the kernel pipeline (decode, then join), the record
//! reader and the sanitiser take any input without panicking, and nothing
//! they return carries a control character.

use proptest::prelude::*;

use tracer_tui::clock::BootClock;
use tracer_tui::event::{ProcessInfo, TraceEvent};
use tracer_tui::pipeline::Pipeline;
use tracer_tui::{record, replay, sanitize};

fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

fn history_texts(p: &ProcessInfo) -> Vec<&str> {
    p.history
        .iter()
        .flat_map(|s| {
            [&s.comm, &s.filename]
                .into_iter()
                .chain(&s.argv)
                .chain(&s.tried)
                .map(String::as_str)
        })
        .collect()
}

fn assert_clean(event: &TraceEvent) {
    let texts: Vec<&str> = match event {
        TraceEvent::Exec(p) | TraceEvent::Fork(p) => [&p.comm, &p.filename]
            .into_iter()
            .chain(&p.argv)
            .map(String::as_str)
            .chain(history_texts(p))
            .collect(),
        TraceEvent::Exit(e) => [&e.process.comm, &e.process.filename, &e.exit_comm]
            .into_iter()
            .chain(&e.process.argv)
            .map(String::as_str)
            .chain(history_texts(&e.process))
            .collect(),
        TraceEvent::ExecFailed(f) => [&f.comm, &f.filename]
            .into_iter()
            .chain(&f.argv)
            .map(String::as_str)
            .collect(),
        TraceEvent::Lost { .. } | TraceEvent::Gone { .. } | TraceEvent::Reparent { .. } => {
            Vec::new()
        }
    };
    for t in texts {
        assert!(!t.chars().any(is_unsafe), "unsafe character in {t:?}");
    }
}

/// One record through a fresh pipeline, as the backend would pass it on;
/// None when it does not decode.
fn through_pipeline(bytes: &[u8]) -> Option<TraceEvent> {
    let mut pipeline = Pipeline::new(BootClock::now());
    pipeline.push(bytes).ok()?;
    let mut events = pipeline.join_pending().into_iter();
    let event = events.next();
    assert!(event.is_some(), "a record that decodes is an event");
    // an end with a reaper is followed by its reparenting, and only that
    let rest: Vec<TraceEvent> = events.collect();
    assert!(
        rest.iter()
            .all(|e| matches!(e, TraceEvent::Reparent { .. }))
            && rest.len() <= 1,
        "one record, one event (and a reparenting): {rest:?}"
    );
    event
}

/// Bytes that look like kernel records: a valid kind, then anything.
fn record_like() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![Just(1u32), Just(2u32), Just(4u32), Just(5u32), any::<u32>()],
        proptest::collection::vec(any::<u8>(), 0..1200),
    )
        .prop_map(|(kind, rest)| kind.to_ne_bytes().into_iter().chain(rest).collect())
}

/// Exec records whose lengths fit, with any bytes in comm, filename and
/// argv: the text the cleaning must handle.
fn exec_record_like() -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::collection::vec(any::<u8>(), 16),
        proptest::collection::vec(any::<u8>(), 0..256),
        proptest::collection::vec(any::<u8>(), 0..512),
    )
        .prop_map(|(comm, filename, args)| {
            let head = ExecHead {
                kind: 1,
                pid: 7,
                start_ns: 5,
                exec_ns: 6,
                error: 0,
                flags: 0,
            };
            exec_bytes(&head, &comm, &filename, &args)
        })
}

/// The fixed fields of an exec record that the sequences below vary.
#[derive(Clone, Debug)]
struct ExecHead {
    kind: u32,
    pid: u32,
    start_ns: u64,
    exec_ns: u64,
    error: i32,
    flags: u32,
}

/// An exec or failed-exec record laid out as `struct exec_record` in
/// src/bpf/tracer.h, carrying only the used part of its data, as the ring
/// buffer does. `comm` is cut or padded to 16 bytes.
fn exec_bytes(head: &ExecHead, comm: &[u8], filename: &[u8], args: &[u8]) -> Vec<u8> {
    // kind, pid, ppid, uid, start_ns, exec_ns, cgroup_id, error, flags,
    // filename_len, args_len
    let mut b = Vec::new();
    b.extend(head.kind.to_ne_bytes());
    b.extend([head.pid, 1, 0].iter().flat_map(|v| v.to_ne_bytes()));
    // start_ns, exec_ns, cgroup_id; then error and flags
    b.extend(
        [head.start_ns, head.exec_ns, 9]
            .iter()
            .flat_map(|v| v.to_ne_bytes()),
    );
    b.extend(head.error.to_ne_bytes());
    b.extend(head.flags.to_ne_bytes());
    b.extend((filename.len() as u16).to_ne_bytes());
    b.extend((args.len() as u16).to_ne_bytes());
    b.extend(comm.iter().copied().chain(std::iter::repeat(0)).take(16));
    b.extend(filename);
    b.extend(args);
    b
}

/// An exit record laid out as `struct exit_event` in src/bpf/tracer.h,
/// with its padding: 160 bytes.
fn exit_bytes(pid: u32, start_ns: u64, exit_ns: u64, flags: u32, texts: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    // kind, pid, ppid, uid, exit_status, reaper (0: no children)
    b.extend(
        [2u32, pid, 1, 0, 0x7f00, 0]
            .iter()
            .flat_map(|v| v.to_ne_bytes()),
    );
    b.extend([start_ns, exit_ns].iter().flat_map(|v| v.to_ne_bytes()));
    b.extend(flags.to_ne_bytes());
    // comm and thread_comm, 16 bytes each, then padding to usage
    b.extend(texts.iter().copied().chain(std::iter::repeat(0)).take(32));
    b.extend([0u8; 4]);
    // usage: ten counters, any value the kernel could hold
    b.extend((1..=10u64).flat_map(|v| (v << 40).to_ne_bytes()));
    b
}

/// Records of a few processes (few pids, few starts) so that execs, failed
/// execs and exits of the same process meet in the join, with any text;
/// and among them records of any bytes.
fn process_record() -> impl Strategy<Value = Vec<u8>> {
    let pid = 1u32..4;
    let start = prop_oneof![
        Just(5u64),
        Just(6u64),
        Just(20_000_000u64),
        Just(u64::MAX),
        any::<u64>()
    ];
    let text = proptest::collection::vec(any::<u8>(), 0..64);
    let exec = (
        prop_oneof![Just(1u32), Just(3u32)],
        pid.clone(),
        start.clone(),
        any::<u64>(),
        any::<u32>(),
        text.clone(),
        text.clone(),
        text.clone(),
    )
        .prop_map(
            |(kind, pid, start_ns, exec_ns, flags, comm, filename, args)| {
                let head = ExecHead {
                    kind,
                    pid,
                    start_ns,
                    exec_ns,
                    error: 2,
                    flags,
                };
                exec_bytes(&head, &comm, &filename, &args)
            },
        );
    let exit = (pid, start.clone(), start, any::<u32>(), text)
        .prop_map(|(pid, start, end, flags, texts)| exit_bytes(pid, start, end, flags, &texts));
    prop_oneof![
        3 => exec,
        3 => exit,
        1 => record_like(),
        1 => proptest::collection::vec(any::<u8>(), 0..200),
    ]
}

/// JSON objects with the record format's keys and values of any type.
fn json_like() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("event"),
        Just("time"),
        Just("pid"),
        Just("ppid"),
        Just("uid"),
        Just("comm"),
        Just("filename"),
        Just("argv"),
        Just("duration_ns"),
        Just("exit_code"),
        Just("signal"),
        Just("status"),
        Just("start_time"),
        Just("core_dumped"),
        Just("exec_ringbuf"),
        Just("errno"),
        Just("exec_time"),
        Just("history"),
        Just("processes"),
    ];
    let value = prop_oneof![
        Just("\"exec\"".to_string()),
        Just("\"exit\"".to_string()),
        Just("\"lost\"".to_string()),
        Just("\"exec_failed\"".to_string()),
        Just("\"gone\"".to_string()),
        Just("[{\"time\":\"2024-01-01T00:00:00Z\",\"argv\":[\"\\u001b\"]}]".to_string()),
        Just("[{\"pid\":1,\"start_time\":\"2024-01-01T00:00:00Z\"}]".to_string()),
        Just("\"2024-01-01T00:00:00Z\"".to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        ".*".prop_map(|s| serde_json::to_string(&s).unwrap_or_default()),
        proptest::collection::vec(".*", 0..4)
            .prop_map(|v| serde_json::to_string(&v).unwrap_or_default()),
        Just("null".to_string()),
        Just("-1".to_string()),
        Just("1e400".to_string()),
    ];
    proptest::collection::vec((key, value), 0..14).prop_map(|pairs| {
        let body: Vec<String> = pairs
            .into_iter()
            .map(|(k, v)| format!("\"{k}\":{v}"))
            .collect();
        format!("{{{}}}", body.join(","))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..1200)) {
        let _ = through_pipeline(&bytes);
    }

    #[test]
    fn decoded_records_are_clean(bytes in record_like()) {
        if let Some(event) = through_pipeline(&bytes) {
            assert_clean(&event);
        }
    }

    #[test]
    fn decoded_exec_text_is_clean(bytes in exec_record_like()) {
        let event = through_pipeline(&bytes);
        prop_assert!(matches!(event, Some(TraceEvent::Exec(_))), "a well-formed record did not decode");
        if let Some(event) = event {
            assert_clean(&event);
        }
    }

    /// Batches of records through one pipeline, as the backend drains the
    /// ring: every record that decodes comes out as one event, in order,
    /// joined with what came before, with clean text.
    #[test]
    fn the_pipeline_takes_any_sequence_of_records(
        batches in proptest::collection::vec(proptest::collection::vec(process_record(), 0..12), 0..6),
    ) {
        let mut pipeline = Pipeline::new(BootClock::now());
        for batch in batches {
            let decoded = batch.iter().filter(|b| pipeline.push(b).is_ok()).count();
            let events = pipeline.join_pending();
            // ends with a reaper add a reparenting each; runs of filtered
            // ends are one Gone
            let reparents = events.iter().filter(|e| matches!(e, TraceEvent::Reparent { .. })).count();
            let gone: usize = events
                .iter()
                .map(|e| match e {
                    TraceEvent::Gone { processes, .. } => processes.len(),
                    _ => 1,
                })
                .sum();
            prop_assert_eq!(gone - reparents, decoded);
            for event in &events {
                assert_clean(event);
            }
        }
        prop_assert!(pipeline.join_pending().is_empty());
    }

    #[test]
    fn record_reader_never_panics(line in ".*") {
        let _ = record::parse_line(&line);
    }

    #[test]
    fn record_reader_on_json_objects(line in json_like()) {
        if let Ok(event) = record::parse_line(&line) {
            assert_clean(&event);
            // what it reads, it writes back and reads again the same
            prop_assert_eq!(record::parse_line(&record::to_line(&event)).ok(), Some(event));
        }
    }

    #[test]
    fn sanitised_text_has_no_controls(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let text = sanitize::c_string(&bytes);
        prop_assert!(!text.chars().any(is_unsafe));
        for arg in sanitize::argv(&bytes) {
            prop_assert!(!arg.chars().any(is_unsafe));
        }
    }

    #[test]
    fn replay_files_never_panic(
        bom in any::<bool>(),
        lines in proptest::collection::vec(prop_oneof![json_like(), ".*"], 0..6),
    ) {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        let bom: &[u8] = if bom { b"\xef\xbb\xbf" } else { b"" };
        std::io::Write::write_all(&mut f, &[bom, lines.join("\n").as_bytes()].concat()).expect("write");
        let _ = replay::check(f.path());
    }
}

/// An exec line with this text, as any tool could write it.
fn exec_line(comm: &str, filename: &str, argv: &[String]) -> String {
    serde_json::json!({
        "event": "exec", "time": "2024-01-01T00:00:00Z", "pid": 1, "ppid": 0, "uid": 0,
        "comm": comm, "filename": filename, "argv": argv,
    })
    .to_string()
}

/// Visible text is at most four bytes for each byte it stood for (`\x1b`).
const ESCAPED: usize = 4;

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Text of any size and content read from a file is cut to the
    /// kernel's limits (comm 15 bytes, filename 255, argv 512 with NULs)
    /// and marked truncated.
    #[test]
    fn record_reader_caps_text_like_the_kernel(
        comm in ".{0,40}",
        filename in prop_oneof![".{0,300}", "[a-z/]{200,5000}"],
        argv in proptest::collection::vec(prop_oneof![".{0,200}", "[a-z]{0,3000}"], 0..12),
    ) {
        let event = record::parse_line(&exec_line(&comm, &filename, &argv));
        let Ok(TraceEvent::Exec(p)) = event else {
            return Err(TestCaseError::fail(format!("not read: {event:?}")));
        };
        assert_clean(&TraceEvent::Exec(p.clone()));
        prop_assert!(p.comm.len() <= 15 * ESCAPED);
        prop_assert!(p.filename.len() <= 255 * ESCAPED);
        let kept: usize = p.argv.iter().map(|a| a.len() + 1).sum();
        prop_assert!(kept <= 512 * ESCAPED + 1);
        // plain text is kept exactly up to the limit, and marked when cut
        let plain = |t: &str| t.bytes().all(|b| b.is_ascii_graphic() || b == b' ');
        if plain(&filename) {
            prop_assert_eq!(p.filename_truncated, filename.len() > 255);
            prop_assert_eq!(&p.filename, &filename[..filename.len().min(255)]);
        }
        if argv.iter().all(|a| plain(a)) {
            let total: usize = argv.iter().map(|a| a.len() + 1).sum();
            prop_assert_eq!(p.argv_truncated, total > 512);
            prop_assert!(kept <= 513);
            if total <= 512 {
                prop_assert_eq!(&p.argv, &argv);
            }
        }
    }

    /// Numbers the kernel cannot produce are refused, never shown as others.
    #[test]
    fn record_reader_refuses_out_of_range_numbers(
        code in prop_oneof![any::<i64>(), -2i64..300],
        year in 1900u32..=9999,
        pid in prop_oneof![any::<u32>(), Just(u32::MAX)],
    ) {
        let line = serde_json::json!({
            "event": "exit", "time": format!("{year}-06-01T00:00:00Z"), "pid": pid,
            "ppid": pid, "uid": 0, "comm": "x", "filename": "/x", "argv": [],
            "duration_ns": 0, "exit_code": code,
        })
        .to_string();
        match record::parse_line(&line) {
            Ok(TraceEvent::Exit(e)) => {
                prop_assert!((0..=255).contains(&code), "exit_code {code} accepted");
                prop_assert!((1970..=2554).contains(&year), "year {year} accepted");
                prop_assert_eq!(e.status.code(), Some(code as i32));
                prop_assert_eq!((e.process.pid, e.process.ppid), (pid, pid));
            }
            Ok(other) => prop_assert!(false, "{other:?}"),
            Err(e) => prop_assert!(
                !(0..=255).contains(&code) || !(1970..=2554).contains(&year),
                "refused: {e}"
            ),
        }
    }
}

/// The byte layouts above are the kernel's: an exec and the exit of the
/// same process, built by them, are decoded and joined into one process.
#[test]
fn the_test_records_are_laid_out_as_the_kernel_lays_them_out() {
    let head = ExecHead {
        kind: 1,
        pid: 3,
        start_ns: 1_000,
        exec_ns: 1_500,
        error: 0,
        flags: 0,
    };
    let exec = exec_bytes(&head, b"sleep", b"/bin/sleep\0", b"sleep\x001\0");
    // EXIT_HAD_RECORD: the start came from the pid map
    let exit = exit_bytes(3, 1_000, 4_000, 1, b"sleep\0\0\0\0\0\0\0\0\0\0\0worker");
    let mut pipeline = Pipeline::new(BootClock::now());
    pipeline.push(&exec).expect("the exec decodes");
    pipeline.push(&exit).expect("the exit decodes");
    let events = pipeline.join_pending();
    let [TraceEvent::Exec(p), TraceEvent::Exit(e)] = &events[..] else {
        panic!("not an exec and an exit: {events:?}");
    };
    assert_eq!(
        (p.pid, p.start_boot_ns, &p.comm),
        (3, 1_000, &"sleep".to_string())
    );
    assert_eq!(e.process.filename, "/bin/sleep");
    assert_eq!(e.process.argv, ["sleep", "1"]);
    assert_eq!((e.duration_ns, e.status.code()), (3_000, Some(127)));
    assert_eq!(e.exit_comm, "worker");
    let usage = e.usage.as_ref().expect("usage from the kernel");
    assert_eq!(
        (usage.minor_faults, usage.involuntary_switches),
        (4 << 40, 9 << 40)
    );
    assert!(
        pipeline.joiner().is_empty(),
        "the exit took the exec's record"
    );
}

#[test]
fn a_bom_at_the_start_of_a_file_is_accepted() {
    let mut f = tempfile::NamedTempFile::new().expect("temp file");
    let line = exec_line("a", "/a", &[]);
    std::io::Write::write_all(&mut f, format!("\u{feff}{line}\n{line}\n").as_bytes())
        .expect("write");
    assert_eq!(replay::check(f.path()).expect("a file with a BOM"), 2);
}
