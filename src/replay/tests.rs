//! The replay source's tests: timing, the end, cut files, huge batches,
//! following a pipe.

use super::*;
use crate::event::{Origin, ProcessInfo, TraceEvent, WallTime};
use crate::record;
use std::io::Write;
use std::sync::mpsc;
use std::time::Instant;

fn exec(pid: u32, t: u64, origin: Origin) -> TraceEvent {
    TraceEvent::Exec(ProcessInfo {
        pid,
        start: WallTime(t),
        exec_time: WallTime(t),
        origin,
        ..Default::default()
    })
}

/// A recording of `events`.
fn file(events: &[TraceEvent]) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    for e in events {
        writeln!(f, "{}", record::to_line(e)).unwrap();
    }
    f
}

/// Every message a replay of `events` sends, to its end, taking each
/// in as the dashboard does.
fn replay_messages(events: Vec<TraceEvent>, speed: f64) -> Vec<Message> {
    let f = file(&events);
    let (tx, rx) = mpsc::channel::<Message>();
    let feed = start(open(f.path()).unwrap(), speed, tx).unwrap();
    let mut messages = Vec::new();
    while !messages.contains(&Message::End) {
        let m = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        feed.applied(crate::backlog::weight(&m));
        messages.push(m);
    }
    // nothing after the end: the clock has stopped and the thread is done
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(600)),
        Err(mpsc::RecvTimeoutError::Disconnected),
        "the replay went on after its end"
    );
    messages
}

fn positions(messages: &[Message]) -> Vec<ReplayPosition> {
    messages
        .iter()
        .filter_map(|m| match m {
            Message::Clock(p) => Some(*p),
            _ => None,
        })
        .collect()
}

#[test]
fn the_clock_stops_at_the_last_event() {
    let s = 1_000_000_000;
    // the last event in the file is not the latest: a late exec
    let events = vec![
        exec(1, 5 * s, Origin::Proc),
        exec(2, 100 * s, Origin::Exec),
        exec(3, 102 * s, Origin::Exec),
        exec(4, 101 * s, Origin::Exec),
    ];
    let messages = replay_messages(events, 10_000.0);
    let positions = positions(&messages);
    let (first, last) = (WallTime(100 * s), WallTime(102 * s));
    assert!(positions.iter().all(|p| p.first == first && p.last == last));
    assert!(
        positions.iter().all(|p| p.clock <= last),
        "the clock ran past the last event: {positions:?}"
    );
    assert!(positions.windows(2).all(|w| w[0].clock <= w[1].clock));
    assert_eq!(positions[0].percent(), 0);
    let end = positions.last().unwrap();
    assert_eq!((end.clock, end.percent()), (last, 100));
    assert_eq!(messages.last(), Some(&Message::End));
}

/// The App fed by a replay: after the end, a live row's age and the
/// header's position stay put, however fast the replay ran.
#[test]
fn after_the_end_the_app_shows_the_end_and_ages_stop() {
    use crate::app::{fixtures, App, AppConfig, HostInfo};
    use ratatui::{backend::TestBackend, layout::Rect, Terminal};
    let start = fixtures::T0;
    let s = fixtures::SEC;
    let mut long = fixtures::process(7, "longrunner", 0);
    long.start = WallTime(start);
    let events = vec![
        TraceEvent::Exec(long),
        exec(8, start + 90 * s, Origin::Exec),
    ];
    let mut app = App::new(AppConfig {
        filter_in_app: true,
        host: HostInfo {
            source: "replay rec.ndjson".into(),
            ..Default::default()
        },
        ..fixtures::config()
    });
    for m in replay_messages(events, 10_000.0) {
        app.apply(m);
    }
    let age = |app: &App| app.now.0 - app.live_row(7).unwrap().info.start.0;
    assert_eq!(age(&app), 90 * s);
    assert!(app.source_ended);
    assert_eq!(app.replay_position.map(|p| p.percent()), Some(100));

    let mut terminal = Terminal::new(TestBackend::new(120, 30)).unwrap();
    let viewport = crate::ui::viewport(Rect::new(0, 0, 120, 30), &app);
    app.prepare(&viewport);
    terminal.draw(|f| crate::ui::draw(f, &app)).unwrap();
    let screen: String = terminal
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    // T0 is 22:13:20 UTC; the last event is 90 s later
    assert!(screen.contains("replay finished 22:14:50 100%"), "{screen}");
    assert!(screen.contains("1m30s"), "the live row's age: {screen}");
}

#[test]
fn the_header_shows_the_position_while_playing() {
    use crate::app::{fixtures, App};
    let mut app = App::new(fixtures::config());
    let s = fixtures::SEC;
    app.apply(Message::Clock(ReplayPosition {
        clock: WallTime(fixtures::T0 + 37 * s),
        first: WallTime(fixtures::T0),
        last: WallTime(fixtures::T0 + 100 * s),
        stage: ReplayStage::Playing,
    }));
    assert_eq!(app.now, WallTime(fixtures::T0 + 37 * s));
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 30)).unwrap();
    terminal.draw(|f| crate::ui::draw(f, &app)).unwrap();
    let top: String = terminal.backend().buffer().content()[..120]
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(top.contains("  replay 22:13:57 37%"), "{top}");
    assert!(!top.contains("finished"), "{top}");
}

#[test]
fn bad_line_is_named() {
    let mut f = file(&[exec(1, 1, Origin::Exec)]);
    writeln!(f).unwrap();
    writeln!(f, "{{\"event\":\"exec\"").unwrap();
    let err = check(f.path()).unwrap_err().to_string();
    assert!(
        err.ends_with(
            ":3: not a tracer-tui record: EOF while parsing an object at line 1 column 15"
        ),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
}

#[test]
fn empty_and_missing_files_are_errors() {
    let f = tempfile::NamedTempFile::new().unwrap();
    assert!(check(f.path())
        .unwrap_err()
        .to_string()
        .contains("no events"));
    assert!(open(Path::new("/nonexistent/file")).is_err());
    let dir = tempfile::tempdir().unwrap();
    assert!(open(dir.path())
        .err()
        .unwrap()
        .to_string()
        .ends_with("is a directory, not a recording"));
}

#[test]
fn a_last_line_cut_mid_write_is_left_out_with_a_warning() {
    let mut f = file(&[exec(1, 1, Origin::Exec), exec(2, 2, Origin::Exec)]);
    let third = record::to_line(&exec(3, 3, Origin::Exec));
    write!(f, "{}", &third[..third.len() / 2]).unwrap();
    assert_eq!(check(f.path()).unwrap(), 2);
    let messages = messages_of(f.path(), 10_000.0);
    let warning = messages.iter().find_map(|m| match m {
        Message::Warning(w) => Some(w.clone()),
        _ => None,
    });
    let warning = warning.expect("a warning");
    assert!(
        warning.ends_with(":3: the last line is cut short (EOF while parsing a string at line 1 column 76); replaying the lines before it")
            || warning.contains(":3: the last line is cut short ("),
        "{warning}"
    );
    assert_eq!(warning.lines().count(), 1);
    assert_eq!(pids(&messages), [1, 2]);
    // a last line that is whole but has no newline is played
    let mut f = file(&[exec(1, 1, Origin::Exec)]);
    write!(f, "{third}").unwrap();
    assert_eq!(pids(&messages_of(f.path(), 10_000.0)), [1, 3]);
    // a file of one cut line has nothing to replay
    let mut f = tempfile::NamedTempFile::new().unwrap();
    write!(f, "{}", &third[..10]).unwrap();
    let err = check(f.path()).unwrap_err().to_string();
    assert!(err.contains(":1: the last line is cut short"), "{err}");
}

fn messages_of(path: &Path, speed: f64) -> Vec<Message> {
    let (tx, rx) = mpsc::channel::<Message>();
    let feed = start(open(path).unwrap(), speed, tx).unwrap();
    let mut messages = Vec::new();
    while !messages.contains(&Message::End) {
        let m = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        feed.applied(crate::backlog::weight(&m));
        messages.push(m);
    }
    messages
}

fn pids(messages: &[Message]) -> Vec<u32> {
    messages
        .iter()
        .filter_map(|m| match m {
            Message::Events(batch) => Some(batch),
            _ => None,
        })
        .flatten()
        .map(|e| match e {
            TraceEvent::Exec(p) => p.pid,
            TraceEvent::Exit(x) => x.process.pid,
            _ => 0,
        })
        .collect()
}

/// Events due at one moment go out in batches of BATCH, and no more
/// than WINDOW wait for the dashboard to take them in.
#[test]
fn a_huge_batch_is_sent_in_bounded_pieces() {
    let n = 5 * WINDOW + 7;
    let events: Vec<TraceEvent> = (0..n as u32)
        .map(|i| exec(i + 1, 5, Origin::Exec))
        .collect();
    let f = file(&events);
    let (tx, rx) = mpsc::channel::<Message>();
    let feed = start(open(f.path()).unwrap(), 1.0, tx).unwrap();
    let mut got = 0;
    let mut ended = false;
    while !ended {
        // the dashboard is slow: what waits for it stays within the window
        std::thread::sleep(Duration::from_millis(5));
        let waiting: Vec<Message> = rx.try_iter().collect();
        let queued: usize = waiting
            .iter()
            .map(|m| match m {
                Message::Events(b) => b.len(),
                _ => 0,
            })
            .sum();
        assert!(queued <= WINDOW, "{queued} events queued");
        for m in waiting {
            if let Message::Events(b) = &m {
                assert!(b.len() <= BATCH);
                got += b.len();
            }
            ended |= m == Message::End;
            feed.applied(crate::backlog::weight(&m));
        }
    }
    assert_eq!(got, n);
}

/// A stream is followed: events arrive as lines do, the position says
/// so, and the end of the stream ends the replay.
#[test]
fn a_pipe_is_followed_as_lines_arrive() {
    let (r, mut w) = std::io::pipe().unwrap();
    let reader = LineReader::new(File::from(std::os::fd::OwnedFd::from(r)), true, None);
    let replay = Replay {
        name: "stdin".into(),
        input: Input::Stream(reader),
    };
    let (tx, rx) = mpsc::channel::<Message>();
    let feed = start(replay, 1.0, tx).unwrap();
    let next_events = |rx: &mpsc::Receiver<Message>| loop {
        let m = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        feed.applied(crate::backlog::weight(&m));
        match m {
            Message::Events(b) => return b,
            Message::Clock(p) => assert_eq!(p.stage, ReplayStage::Following),
            other => panic!("{other:?}"),
        }
    };
    writeln!(w, "{}", record::to_line(&exec(7, 1_000, Origin::Exec))).unwrap();
    assert_eq!(next_events(&rx), [exec(7, 1_000, Origin::Exec)]);
    writeln!(w, "{}", record::to_line(&exec(8, 2_000, Origin::Exec))).unwrap();
    assert_eq!(next_events(&rx), [exec(8, 2_000, Origin::Exec)]);
    drop(w);
    let rest: Vec<Message> =
        std::iter::from_fn(|| rx.recv_timeout(Duration::from_secs(5)).ok()).collect();
    assert_eq!(rest.last(), Some(&Message::End));
    let Some(Message::Clock(p)) = rest.iter().rev().nth(1) else {
        panic!("{rest:?}")
    };
    // the clock stops at the newest event
    assert_eq!((p.clock, p.first), (WallTime(2_000), WallTime(1_000)));
}

#[test]
fn plays_in_order_with_time() {
    let s = 1_000_000_000;
    let f = file(&[
        exec(1, 5 * s, Origin::Proc),
        exec(2, 100 * s, Origin::Exec),
        exec(3, 100 * s + 50_000_000, Origin::Exec),
    ]);
    let started = Instant::now();
    let messages = messages_of(f.path(), 1.0);
    assert_eq!(pids(&messages), [1, 2, 3]);
    assert!(
        started.elapsed() >= Duration::from_millis(50),
        "recorded pace kept"
    );
    // processes running before the recording began do not start the clock
    assert_eq!(positions(&messages)[0].clock, WallTime(100 * s));
}

/// The largest pid a file can hold is drawn whole, in both tables.
#[test]
fn the_largest_pid_is_shown_in_full() {
    use crate::app::{fixtures, App};
    use crate::event::ExitInfo;
    let mut app = App::new(fixtures::config());
    let mut live = fixtures::process(u32::MAX, "live", 0);
    live.ppid = u32::MAX - 1;
    let mut gone = fixtures::process(u32::MAX - 2, "gone", 0);
    gone.ppid = u32::MAX - 3;
    let exit = TraceEvent::Exit(ExitInfo {
        end: WallTime(gone.start.0 + 1),
        exit_comm: "gone".into(),
        process: gone,
        ..Default::default()
    });
    app.apply(Message::Events(vec![TraceEvent::Exec(live), exit]));
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 30)).unwrap();
    let viewport = crate::ui::viewport(ratatui::layout::Rect::new(0, 0, 160, 30), &app);
    app.prepare(&viewport);
    terminal.draw(|f| crate::ui::draw(f, &app)).unwrap();
    let screen: String = terminal
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    for pid in [u32::MAX, u32::MAX - 1, u32::MAX - 2, u32::MAX - 3] {
        assert!(screen.contains(&pid.to_string()), "{pid}: {screen}");
    }
}
