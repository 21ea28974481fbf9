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
    fn replay_files_never_panic(lines in proptest::collection::vec(prop_oneof![json_like(), ".*"], 0..6)) {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        std::io::Write::write_all(&mut f, lines.join("\n").as_bytes()).expect("write");
        let _ = replay::load(f.path());
    }
}
