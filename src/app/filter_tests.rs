//! Unit tests of the search filter's parser and matcher.

use super::*;
use crate::app::fixtures::{exit, process};
use crate::event::{ExecStep, ExitInfo, ProcessInfo};

/// A row to test against: a live one when `exit` is None.
struct Row {
    process: ProcessInfo,
    command: String,
    user: String,
    exit: Option<ExitInfo>,
}

impl Row {
    fn live(process: ProcessInfo, user: &str) -> Row {
        Row {
            command: process.command_line(),
            process,
            user: user.into(),
            exit: None,
        }
    }

    fn finished(e: ExitInfo, user: &str) -> Row {
        Row {
            command: e.process.command_line(),
            process: e.process.clone(),
            user: user.into(),
            exit: Some(e),
        }
    }

    fn subject(&self) -> Subject<'_> {
        Subject {
            process: &self.process,
            command: &self.command,
            user: &self.user,
            exit: self.exit.as_ref(),
        }
    }
}

fn hits(search: &str, row: &Row) -> bool {
    Filter::parse(search)
        .unwrap_or_else(|e| panic!("{search:?}: {e}"))
        .matches(&row.subject())
}

fn sleep_row() -> Row {
    let mut p = process(4242, "sleep", 1);
    p.ppid = 77;
    p.argv = vec!["sleep".into(), "3601".into()];
    Row::live(p, "alice")
}

#[test]
fn the_whole_command_line_is_one_string() {
    let row = sleep_row();
    assert!(hits("sleep 3601", &row));
    assert!(hits("\"sleep 3601\"", &row));
    assert!(hits("EP 36", &row), "case and the space between arguments");
    assert!(hits("\"p 3\"", &row));
    assert!(!hits("\"sleep  3601\"", &row));
    assert!(!hits("sleep 3602", &row));
}

#[test]
fn comm_filename_user_and_exit_thread_name_match() {
    let mut p = process(10, "make", 1);
    p.argv = vec!["gmake".into()];
    p.comm = "make".into();
    p.filename = "/opt/tools/bin/gmake".into();
    let row = Row::live(p.clone(), "Builder");
    assert!(hits("MAKE", &row));
    assert!(hits("/opt/tools", &row));
    assert!(hits("builder", &row));
    let mut e = exit(p, 5, 0);
    e.exit_comm = "zzworker".into();
    assert!(hits("zzworker", &Row::finished(e, "root")));
    assert!(!hits("zzworker", &row));
}

#[test]
fn a_bare_number_matches_pid_and_ppid_too() {
    let row = sleep_row();
    assert!(hits("4242", &row));
    assert!(hits("77", &row));
    assert!(hits("360", &row), "as text of the command line");
    assert!(!hits("4243", &row));
    // only bare numbers are ids: text next to digits is text
    assert!(!hits("x4242", &row));
}

#[test]
fn earlier_command_lines_match() {
    // env MARKER=zebra123 true: the row shows true, search finds env's line
    let mut p = process(20, "true", 1);
    p.argv = vec!["true".into()];
    p.history = vec![ExecStep {
        comm: "env".into(),
        filename: "/usr/bin/env".into(),
        argv: vec!["env".into(), "MARKER=zebra123".into(), "true".into()],
        ..Default::default()
    }];
    let row = Row::live(p, "alice");
    assert!(hits("zebra123", &row));
    assert!(hits("\"env marker=zebra\"", &row));
    // a failed exec attempt is part of the history too
    let mut p = process(21, "sh", 1);
    p.history = vec![ExecStep {
        filename: "/usr/bin/nosuchcmd".into(),
        argv: vec!["nosuchcmd".into()],
        errno: Some(2),
        attempts: 3,
        ..Default::default()
    }];
    assert!(hits("nosuchcmd", &Row::live(p, "alice")));
    assert!(!hits("zebra123", &sleep_row()));
}

#[test]
fn keyed_terms() {
    let row = sleep_row();
    assert!(hits("pid:4242", &row));
    assert!(!hits("pid:77", &row), "pid: is the pid only");
    assert!(hits("ppid:77", &row));
    assert!(!hits("ppid:4242", &row));
    assert!(hits("user:alice", &row));
    assert!(hits("USER:Alice", &row));
    assert!(!hits("user:ali", &row), "a user name matches whole");
    assert!(hits("user:1000", &row), "or a uid");
    assert!(!hits("user:root", &row));
    // an unknown key is text (host:port, a=b:c)
    let mut p = process(30, "nc", 1);
    p.argv = vec!["nc".into(), "localhost:8080".into()];
    assert!(hits("localhost:8080", &Row::live(p, "alice")));
}

#[test]
fn exit_terms() {
    let done = |status: u32| Row::finished(exit(process(5, "job", 1), 5, status), "alice");
    let (ok, code2, killed) = (done(0), done(2 << 8), done(9));
    assert!(hits("exit:0", &ok));
    assert!(!hits("exit:0", &code2));
    assert!(hits("exit:2", &code2));
    assert!(!hits("exit:!0", &ok));
    assert!(hits("exit:!0", &code2));
    assert!(hits("exit:!0", &killed), "a signal is a failure");
    assert!(!hits("exit:0", &killed));
    assert!(hits("exit:SIGKILL", &killed));
    assert!(hits("exit:kill", &killed));
    assert!(hits("exit:sig", &killed));
    assert!(!hits("exit:sig", &code2));
    // a live process has not exited: it matches no exit term
    assert!(!hits("exit:!0", &sleep_row()));
    assert!(!hits("exit:0", &sleep_row()));
    assert!(hits("-exit:!0", &sleep_row()));
}

#[test]
fn exclusions_and_combinations() {
    let row = sleep_row();
    assert!(!hits("-sleep", &row));
    assert!(hits("-make", &row));
    assert!(!hits("sleep -3601", &row));
    assert!(hits("sleep -user:root", &row));
    assert!(!hits("sleep -pid:4242", &row));
    assert!(!hits("sleep user:root", &row), "terms are ANDed");
    // "--flag" is a word, and a quoted word may start with "-"
    let mut p = process(40, "cargo", 1);
    p.argv = vec!["cargo".into(), "build".into(), "--release".into()];
    let cargo = Row::live(p, "alice");
    assert!(hits("--release", &cargo));
    assert!(!hits("-\"--release\"", &cargo));
    assert!(hits("\"-release\"", &cargo));
    assert!(!hits("-release", &cargo));
    assert!(hits("-", &cargo), "a lone dash is text");
}

#[test]
fn empty_searches_match_everything() {
    for text in ["", "   ", "\"\""] {
        let f = Filter::parse(text).expect("parses");
        assert!(f.is_empty(), "{text:?}");
        assert!(f.matches(&sleep_row().subject()));
    }
}

#[test]
fn invalid_terms_are_errors_not_empty_results() {
    for (text, says) in [
        ("pid:abc", "pid: needs a number"),
        ("sleep ppid:", "ppid: needs a number"),
        ("pid:-1", "pid: needs a number"),
        ("user:", "user: needs a name"),
        ("exit:maybe", "exit: takes a code"),
        ("-exit:!x", "exit: takes a code"),
    ] {
        let error = Filter::parse(text).expect_err(text);
        assert!(error.contains(says), "{text:?}: {error}");
    }
    // a quoted key is text, not a term
    assert!(Filter::parse("\"pid:abc\"").is_ok());
}

#[test]
fn an_unclosed_quote_runs_to_the_end() {
    let row = sleep_row();
    assert!(hits("\"sleep 36", &row));
    assert!(!hits("\"sleep 37", &row));
}
