//! Unit tests of the command line: parsing, conflicts, modes and scoping.

use super::*;
use clap::error::ErrorKind;

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("tracer-tui").chain(args.iter().copied()))
}

#[test]
fn durations() {
    assert_eq!(parse_min_duration("150"), Ok(Duration::from_millis(150)));
    assert_eq!(parse_min_duration("150ms"), Ok(Duration::from_millis(150)));
    assert_eq!(parse_min_duration("2s"), Ok(Duration::from_secs(2)));
    assert_eq!(parse_min_duration("1m 30s"), Ok(Duration::from_secs(90)));
    assert_eq!(parse_min_duration("0"), Ok(Duration::ZERO));
    assert!(parse_min_duration("abc").is_err());
    assert!(parse_min_duration("-5ms").is_err());
    assert!(parse_min_duration("").is_err());
    assert!(parse_min_duration("99999999999999999999999").is_err());
    assert!(parse_min_duration("400days").is_err());
}

#[test]
fn bare_fractional_numbers_are_milliseconds() {
    let ns = |n| Ok(Duration::from_nanos(n));
    assert_eq!(parse_min_duration("1.5"), ns(1_500_000));
    assert_eq!(parse_min_duration(" 0.25 "), ns(250_000));
    assert_eq!(parse_min_duration("2.000001"), ns(2_000_001));
    // finer than a nanosecond cannot count
    assert_eq!(parse_min_duration("0.0000009"), ns(0));
    assert_eq!(parse_min_duration("1.5ms"), ns(1_500_000));
    for bad in ["1.", ".5", "1.5.2", "1,5", "-1.5", "1.-5"] {
        assert!(parse_min_duration(bad).is_err(), "{bad}");
    }
    assert!(parse_min_duration("99999999999999999999.5")
        .unwrap_err()
        .contains("too large"));
    assert_eq!(
        parse(&["-d", "1.5"]).expect("-d 1.5").min_duration,
        Duration::from_micros(1500)
    );
}

/// The `d` prompt reads what it is given as the flag does.
#[test]
fn the_min_duration_prompt_takes_bare_fractions_as_milliseconds() {
    use crate::app::{fixtures, Action, App};
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let mut app = App::new(fixtures::config());
    let mut press = |code| app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
    press(KeyCode::Char('d'));
    // whatever the prompt starts with, it is cleared first
    for _ in 0..20 {
        press(KeyCode::Backspace);
    }
    for c in "1.5".chars() {
        press(KeyCode::Char(c));
    }
    assert_eq!(
        press(KeyCode::Enter),
        Action::SetMinDuration(Duration::from_micros(1500))
    );
}

#[test]
fn speed_range_and_its_message() {
    let err = |args: &[&str]| parse(args).unwrap_err();
    for bad in ["-1", "0", "0.001", "10001", "inf", "NaN", "fast"] {
        let e = err(&["--replay", "f", "--speed", bad]);
        assert_eq!(e.kind(), ErrorKind::ValueValidation, "{bad}");
        let line = error_line(&e);
        assert!(
            line.contains("from 0.01") && line.contains("to 10000"),
            "{line}"
        );
    }
    for good in ["0.01", "0.5", "10000"] {
        assert!(parse(&["--replay", "f", "--speed", good]).is_ok(), "{good}");
    }
    assert_eq!(
        error_line(&err(&["--speed", "2"])),
        "the following required arguments were not provided: --replay <FILE>"
    );
}

#[test]
fn speed_without_replay_is_an_error_whatever_else_is_given() {
    for other in [&["--json"][..], &["--stream"], &["--record", "f"], &[]] {
        let args: Vec<&str> = other.iter().copied().chain(["--speed", "2"]).collect();
        let e = parse(&args).unwrap_err();
        assert!(
            matches!(
                e.kind(),
                ErrorKind::ArgumentConflict | ErrorKind::MissingRequiredArgument
            ),
            "{args:?}: {e}"
        );
        assert!(error_line(&e).contains("--speed") || error_line(&e).contains("--replay"));
    }
}

#[test]
fn defaults() {
    let cli = parse(&[]).unwrap();
    assert_eq!(cli.min_duration, Duration::ZERO);
    assert_eq!(cli.mode(), Mode::Dashboard);
    assert_eq!(cli.load_options().ring_buffer_bytes, 16 << 20);
    assert_eq!(cli.max_finished, 100_000);
    assert_eq!(parse(&["--stream"]).unwrap().mode(), Mode::Stream);
}

#[test]
fn flags() {
    let cli = parse(&["-d", "150ms", "--json", "-v", "--ring-buffer", "64"]).unwrap();
    assert_eq!(cli.min_duration, Duration::from_millis(150));
    assert_eq!(cli.mode(), Mode::Json);
    assert!(cli.verbose);
    assert_eq!(cli.ring_buffer_mib, 64);
    assert_eq!(
        parse(&["--min-duration=2"]).unwrap().min_duration,
        Duration::from_millis(2)
    );
}

#[test]
fn rejects_bad_input() {
    assert_eq!(
        parse(&["-d", "soon"]).unwrap_err().kind(),
        ErrorKind::ValueValidation
    );
    assert_eq!(
        parse(&["--ring-buffer", "3"]).unwrap_err().kind(),
        ErrorKind::ValueValidation
    );
    assert_eq!(
        parse(&["--bogus"]).unwrap_err().kind(),
        ErrorKind::UnknownArgument
    );
    assert_eq!(
        parse(&["--json", "--stream"]).unwrap_err().kind(),
        ErrorKind::ArgumentConflict
    );
}

#[test]
fn dashboard_flags_and_their_conflicts() {
    let kind = |args: &[&str]| parse(args).unwrap_err().kind();
    assert_eq!(
        kind(&["--replay", "f", "--record", "g"]),
        ErrorKind::ArgumentConflict
    );
    assert_eq!(
        kind(&["--record", "g", "--json"]),
        ErrorKind::ArgumentConflict
    );
    assert_eq!(
        kind(&["--replay", "f", "--stream"]),
        ErrorKind::ArgumentConflict
    );
    assert_eq!(kind(&["--speed", "2"]), ErrorKind::MissingRequiredArgument);
    assert_eq!(kind(&["--force"]), ErrorKind::MissingRequiredArgument);
    assert!(parse(&["--record", "g", "--force"]).unwrap().force);
    assert_eq!(
        kind(&["--replay", "f", "--speed", "0"]),
        ErrorKind::ValueValidation
    );
    assert_eq!(kind(&["--max-finished", "0"]), ErrorKind::ValueValidation);
    assert_eq!(kind(&["--max-processes", "8"]), ErrorKind::ValueValidation);
    let cli = parse(&["--replay", "f", "--speed", "2.5", "--max-finished", "10"]).unwrap();
    assert_eq!((cli.speed, cli.max_finished), (2.5, 10));
    assert_eq!(parse(&[]).unwrap().load_options().max_processes, 65536);
    assert_eq!(
        parse(&["--max-processes", "100"])
            .unwrap()
            .load_options()
            .max_processes,
        100
    );
}

#[test]
fn a_command_after_the_double_dash_is_the_target() {
    use crate::scope::Target;
    let cli = parse(&["--json", "-u", "nobody", "--", "ls", "-d", "--json"]).unwrap();
    assert_eq!(
        cli.target(),
        Target::Command {
            argv: vec!["ls".into(), "-d".into(), "--json".into()],
            user: Some("nobody".into()),
        }
    );
    assert!(cli.load_options().scoped);
    assert_eq!(
        cli.min_duration,
        Duration::ZERO,
        "-d after -- is the command's"
    );
    assert_eq!(parse(&["--pid", "42"]).unwrap().target(), Target::Pid(42));
    assert_eq!(parse(&[]).unwrap().target(), Target::Host);
    assert!(!parse(&[]).unwrap().load_options().scoped);
}

#[test]
fn summary_alone_has_no_dashboard() {
    assert_eq!(parse(&["--summary"]).unwrap().mode(), Mode::Quiet);
    assert_eq!(
        parse(&["--summary", "--", "make"]).unwrap().mode(),
        Mode::Quiet
    );
    assert_eq!(parse(&["--summary", "--json"]).unwrap().mode(), Mode::Json);
    // --record needs the dashboard; the table follows it
    assert_eq!(
        parse(&["--summary", "--record", "f"]).unwrap().mode(),
        Mode::Dashboard
    );
}

#[test]
fn scoping_conflicts() {
    let kind = |args: &[&str]| parse(args).unwrap_err().kind();
    assert_eq!(kind(&["--pid", "0"]), ErrorKind::ValueValidation);
    assert_eq!(kind(&["--pid", "-3"]), ErrorKind::UnknownArgument);
    assert_eq!(kind(&["--pid", "2147483648"]), ErrorKind::ValueValidation);
    assert_eq!(
        kind(&["--pid", "1", "--", "true"]),
        ErrorKind::ArgumentConflict
    );
    assert_eq!(kind(&["-u", "nobody"]), ErrorKind::MissingRequiredArgument);
    assert_eq!(
        error_line(&parse(&["-u", "nobody"]).unwrap_err()),
        "-u USER needs a command to run: tracer-tui -u USER -- COMMAND [ARGS...]"
    );
    assert_eq!(
        kind(&["--pid", "1", "-u", "x"]),
        ErrorKind::ArgumentConflict
    );
    assert_eq!(
        kind(&["--replay", "f", "--", "true"]),
        ErrorKind::ArgumentConflict
    );
    assert_eq!(
        kind(&["--replay", "f", "--pid", "1"]),
        ErrorKind::ArgumentConflict
    );
    assert_eq!(
        kind(&["--replay", "f", "--summary"]),
        ErrorKind::ArgumentConflict
    );
    assert_eq!(kind(&["make"]), ErrorKind::UnknownArgument);
}

#[test]
fn metrics_flags() {
    let cli = parse(&["--metrics", "127.0.0.1:9464", "--quiet"]).unwrap();
    assert_eq!(cli.metrics, Some("127.0.0.1:9464".parse().unwrap()));
    assert_eq!(cli.mode(), Mode::Quiet);
    assert_eq!(cli.metrics_max_commands, 500);
    let cli = parse(&["--metrics", "[::1]:9464", "--metrics-max-commands", "100"]).unwrap();
    assert_eq!(cli.metrics.unwrap().port(), 9464);
    assert!(cli.metrics.unwrap().is_ipv6());
    assert_eq!(cli.metrics_max_commands, 100);
    // metrics go with any output
    assert_eq!(
        parse(&["--metrics", "0.0.0.0:1", "--json"]).unwrap().mode(),
        Mode::Json
    );
    assert_eq!(
        parse(&["--metrics", "0.0.0.0:1"]).unwrap().mode(),
        Mode::Dashboard
    );
    let kind = |args: &[&str]| parse(args).unwrap_err().kind();
    for bad in ["localhost:9464", "9464", "127.0.0.1", "1.2.3.4:99999", ""] {
        assert_eq!(
            kind(&["--metrics", bad]),
            ErrorKind::ValueValidation,
            "{bad}"
        );
    }
    let e = parse(&["--metrics", "nonsense"]).unwrap_err();
    assert!(
        error_line(&e).contains("such as 127.0.0.1:9464"),
        "{}",
        error_line(&e)
    );
    assert_eq!(
        kind(&["--metrics-max-commands", "5"]),
        ErrorKind::MissingRequiredArgument
    );
    assert_eq!(
        kind(&["--metrics", "127.0.0.1:1", "--metrics-max-commands", "0"]),
        ErrorKind::ValueValidation
    );
    // nothing shows failed execs with --quiet alone: they are not traced
    assert!(
        !parse(&["--metrics", "127.0.0.1:1", "-q"])
            .unwrap()
            .load_options()
            .failed_execs
    );
    assert!(
        parse(&["--summary", "-q"])
            .unwrap()
            .load_options()
            .failed_execs
    );
    assert!(
        parse(&["--metrics", "127.0.0.1:1"])
            .unwrap()
            .load_options()
            .failed_execs
    );
    assert_eq!(kind(&["--quiet", "--json"]), ErrorKind::ArgumentConflict);
    assert_eq!(kind(&["--quiet", "--stream"]), ErrorKind::ArgumentConflict);
    assert_eq!(
        kind(&["--metrics", "127.0.0.1:1", "--replay", "f"]),
        ErrorKind::ArgumentConflict
    );
}
