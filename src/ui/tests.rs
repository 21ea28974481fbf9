//! Render snapshots of each meaningful screen, with fixed data and time.

use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::Terminal;

use super::{draw, viewport};
use crate::app::fixtures::*;
use crate::app::{App, AppConfig, HostInfo};
use crate::event::{Drops, ProcessInfo, TraceEvent, WallTime};
use crate::source::Message;

fn host() -> HostInfo {
    HostInfo {
        host: "buildbox".into(),
        kernel: "6.18.0".into(),
        boot: Some(WallTime(T0 - 3 * 86_400 * SEC)),
        source: "live".into(),
        utc_offset_secs: 0,
    }
}

fn empty_app() -> App {
    let mut app = App::new(AppConfig {
        host: host(),
        ..config()
    });
    app.tick(WallTime(T0 + 100 * SEC));
    app
}

fn busy_app() -> App {
    let mut app = empty_app();
    let live: Vec<ProcessInfo> = [
        (1, "systemd", 0),
        (412, "sshd", 5),
        (980, "bash", 30),
        (1200, "make", 90),
    ]
    .into_iter()
    .map(|(pid, comm, s)| ProcessInfo {
        uid: if pid < 900 { 0 } else { 1000 },
        ..process(pid, comm, s)
    })
    .collect();
    app.apply(Message::Snapshot(live));
    let mut cc = process(1300, "cc1", 99);
    cc.ppid = 1200;
    cc.argv = vec![
        "cc1".into(),
        "-quiet".into(),
        "-I".into(),
        "include".into(),
        "src/very/long/path/to/a/source/file/that/goes/on/and/on/main.c".into(),
        "-o".into(),
        "/tmp/ccXYZ.s".into(),
    ];
    app.apply(Message::Events(vec![TraceEvent::Exec(cc)]));
    let finished = [
        (1201, "sh", 91, 12, 0),
        (1202, "gcc", 92, 1_500, 1 << 8),
        (1203, "sleep", 93, 2_000, 9),
        (1204, "crashy", 94, 40, 0x80 | 11),
        (1205, "true", 95, 0, 0),
        (1206, "x\\x1b[2Jevil", 96, 3, 0),
    ];
    let exits = finished
        .into_iter()
        .map(|(pid, comm, s, ms, status)| {
            let mut p = process(pid, comm, s);
            p.ppid = 980;
            TraceEvent::Exit(exit(p, ms, status))
        })
        .collect();
    app.apply(Message::Events(exits));
    app
}

/// Lays out, prepares and draws `app` on a test terminal.
pub(super) fn render(app: &mut App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    let vp = viewport(Rect::new(0, 0, width, height), app);
    app.prepare(&vp);
    terminal.draw(|f| draw(f, app)).expect("draw");
    terminal
}

pub(super) fn press(app: &mut App, code: KeyCode) {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
}

#[test]
fn empty_start() {
    insta::assert_snapshot!(render(&mut empty_app(), 120, 30).backend());
}

#[test]
fn busy_tables() {
    insta::assert_snapshot!(render(&mut busy_app(), 120, 30).backend());
}

#[test]
fn sorted_by_duration() {
    let mut app = busy_app();
    for _ in 0..5 {
        press(&mut app, KeyCode::Char('>'));
    }
    insta::assert_snapshot!(render(&mut app, 120, 30).backend());
}

#[test]
fn detail_pane() {
    let mut app = busy_app();
    render(&mut app, 120, 40);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    insta::assert_snapshot!(render(&mut app, 120, 40).backend());
}

#[test]
fn help_overlay() {
    let mut app = busy_app();
    press(&mut app, KeyCode::Char('?'));
    insta::assert_snapshot!(render(&mut app, 120, 40).backend());
}

#[test]
fn prompt_with_error() {
    let mut app = busy_app();
    press(&mut app, KeyCode::Char('d'));
    press(&mut app, KeyCode::Backspace);
    for c in "soon".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    press(&mut app, KeyCode::Enter);
    insta::assert_snapshot!(render(&mut app, 120, 30).backend());
}

#[test]
fn search_pause_drops_and_filter_in_header() {
    let mut app = busy_app();
    app.apply(Message::MinDuration(std::time::Duration::from_millis(200)));
    let drops = Drops {
        exec_ringbuf: 3,
        exit_ringbuf: 4,
        ..Default::default()
    };
    app.apply(Message::Events(vec![TraceEvent::Lost {
        time: WallTime(T0),
        drops,
    }]));
    press(&mut app, KeyCode::Char('/'));
    for c in "sleep".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char(' '));
    app.apply(Message::Events(vec![TraceEvent::Exec(process(
        2000, "held", 100,
    ))]));
    insta::assert_snapshot!(render(&mut app, 120, 30).backend());
}

#[test]
fn terminal_too_small() {
    insta::assert_snapshot!(render(&mut busy_app(), 50, 12).backend());
}

#[test]
fn failures_and_signals_stand_out() {
    let mut app = busy_app();
    let terminal = render(&mut app, 120, 30);
    let buffer = terminal.backend().buffer();
    let find = |text: &str| {
        (0..buffer.area.height).find_map(|y| {
            let line: String = (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect();
            line.find(text)
                .map(|x| (line[..x].chars().count() as u16, y))
        })
    };
    let (x, y) = find("SIGKILL").expect("SIGKILL on screen");
    assert_eq!(buffer[(x, y)].fg, Color::Magenta);
    let (x, y) = find("SIGSEGV core").expect("core dump on screen");
    assert_eq!(buffer[(x, y)].fg, Color::Magenta);
    let (x, _) = find("EXIT").expect("the EXIT title");
    let (_, y) = find("gcc --arg1202").expect("the gcc row");
    assert_eq!(buffer[(x, y)].symbol(), "1", "exit code 1 under EXIT");
    assert_eq!(buffer[(x, y)].fg, Color::Red);
    // the selected row is drawn in the selection colours
    let (x, y) = find("22:14:56.003").expect("newest row");
    assert_eq!(buffer[(x, y)].bg, Color::Cyan);

    // selected, a killed process's status is in the selection's colours
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    let terminal = render(&mut app, 120, 30);
    let buffer = terminal.backend().buffer();
    let y = (0..buffer.area.height)
        .find(|&y| {
            (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
                .contains("SIGKILL")
        })
        .expect("SIGKILL row");
    let cells: Vec<_> = (0..buffer.area.width).map(|x| &buffer[(x, y)]).collect();
    assert!(cells[1..100]
        .iter()
        .all(|c| c.bg == Color::Cyan && c.fg == Color::Black));
}
