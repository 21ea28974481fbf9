//! Property tests: the ring-buffer decoder, the record reader and the
//! sanitiser take any input without panicking, and nothing they return
//! carries a control character.

use proptest::prelude::*;

use tracer_tui::bpf::decode_for_fuzzing;
use tracer_tui::event::{ProcessInfo, TraceEvent};
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
        TraceEvent::Exec(p) => [&p.comm, &p.filename]
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
        TraceEvent::Lost { .. } | TraceEvent::Gone { .. } => Vec::new(),
    };
    for t in texts {
        assert!(!t.chars().any(is_unsafe), "unsafe character in {t:?}");
    }
}

/// Bytes that look like kernel records: a valid kind, then anything.
fn record_like() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![Just(1u32), Just(2u32), any::<u32>()],
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
            // kind, pid, ppid, uid, start_ns, exec_ns, cgroup_id, error, flags,
            // filename_len, args_len
            let mut b = Vec::new();
            b.extend(1u32.to_ne_bytes());
            b.extend([7u32, 1, 0].iter().flat_map(|v| v.to_ne_bytes()));
            // start_ns, exec_ns, cgroup_id; then error and flags
            b.extend([5u64, 6, 9].iter().flat_map(|v| v.to_ne_bytes()));
            b.extend(0i32.to_ne_bytes());
            b.extend(0u32.to_ne_bytes());
            b.extend((filename.len() as u16).to_ne_bytes());
            b.extend((args.len() as u16).to_ne_bytes());
            b.extend(comm);
            b.extend(filename);
            b.extend(args);
            b
        })
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
        let _ = decode_for_fuzzing(&bytes);
    }

    #[test]
    fn decoded_records_are_clean(bytes in record_like()) {
        if let Some(event) = decode_for_fuzzing(&bytes) {
            assert_clean(&event);
        }
    }

    #[test]
    fn decoded_exec_text_is_clean(bytes in exec_record_like()) {
        let event = decode_for_fuzzing(&bytes);
        prop_assert!(matches!(event, Some(TraceEvent::Exec(_))), "a well-formed record did not decode");
        if let Some(event) = event {
            assert_clean(&event);
        }
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

#[test]
fn a_bom_at_the_start_of_a_file_is_accepted() {
    let mut f = tempfile::NamedTempFile::new().expect("temp file");
    let line = exec_line("a", "/a", &[]);
    std::io::Write::write_all(&mut f, format!("\u{feff}{line}\n{line}\n").as_bytes())
        .expect("write");
    assert_eq!(replay::check(f.path()).expect("a file with a BOM"), 2);
}
