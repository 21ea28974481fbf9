//! Render tests of input: the prompt's selection and cursor, the filter in
//! the header and footer, at 80x24 and 160x45.

use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::Position;
use ratatui::style::Modifier;
use ratatui::Terminal;

use super::tests::{press, render};
use crate::app::fixtures::*;
use crate::app::{App, AppConfig, HostInfo};
use crate::event::{ProcessInfo, TraceEvent, WallTime};
use crate::source::Message;

fn app() -> App {
    let mut app = App::new(AppConfig {
        host: HostInfo {
            host: "buildbox".into(),
            kernel: "6.18.0".into(),
            source: "live".into(),
            ..Default::default()
        },
        ..config()
    });
    app.tick(WallTime(T0 + 100 * SEC));
    let mut sleep = process(4242, "sleep", 90);
    sleep.argv = vec!["sleep".into(), "3601".into()];
    app.apply(Message::Snapshot(vec![
        sleep,
        ProcessInfo {
            uid: 0,
            ..process(1, "init", 0)
        },
    ]));
    app.apply(Message::Events(vec![
        TraceEvent::Exit(exit(process(300, "cc", 95), 40, 0)),
        TraceEvent::Exit(exit(process(301, "ld", 96), 12, 1 << 8)),
        TraceEvent::Exit(exit(process(302, "sleep", 97), 2_000, 9)),
    ]));
    app
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c));
    }
}

fn line(buffer: &Buffer, y: u16) -> String {
    (0..buffer.area.width)
        .map(|x| buffer[(x, y)].symbol())
        .collect()
}

/// The x of the first cell of `text` on row `y`.
fn column_of(buffer: &Buffer, y: u16, text: &str) -> Option<u16> {
    let line = line(buffer, y);
    line.find(text).map(|i| line[..i].chars().count() as u16)
}

fn cursor(terminal: &mut Terminal<TestBackend>) -> Position {
    terminal.get_cursor_position().expect("cursor")
}

#[test]
fn the_old_value_is_drawn_selected_and_the_cursor_follows_editing() {
    let mut app = app();
    press(&mut app, KeyCode::Char('/'));
    typed(&mut app, "sleep");
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('/'));
    let mut terminal = render(&mut app, 80, 24);
    let buffer = terminal.backend().buffer().clone();
    let x = column_of(&buffer, 23, "sleep").expect("the old value in the prompt");
    for i in 0..5 {
        assert!(
            buffer[(x + i, 23)].modifier.contains(Modifier::REVERSED),
            "old value not drawn selected: {}",
            line(&buffer, 23)
        );
    }
    // the cursor is after it
    assert_eq!(cursor(&mut terminal), Position::new(x + 5, 23));

    // Left leaves the selection at its start: no longer reversed
    press(&mut app, KeyCode::Left);
    let mut terminal = render(&mut app, 80, 24);
    assert_eq!(cursor(&mut terminal), Position::new(x, 23));
    let buffer = terminal.backend().buffer();
    assert!(!buffer[(x, 23)].modifier.contains(Modifier::REVERSED));
    press(&mut app, KeyCode::End);
    press(&mut app, KeyCode::Left);
    press(&mut app, KeyCode::Left);
    let mut terminal = render(&mut app, 80, 24);
    assert_eq!(cursor(&mut terminal), Position::new(x + 3, 23));
}

#[test]
fn a_long_line_scrolls_to_keep_the_cursor_in_view() {
    let mut app = app();
    press(&mut app, KeyCode::Char('/'));
    let long: String = (0..30).map(|i| format!("w{i} ")).collect();
    typed(&mut app, &long);
    typed(&mut app, "END");
    let mut terminal = render(&mut app, 80, 24);
    let at = cursor(&mut terminal);
    assert!(at.x < 80, "cursor off screen: {at:?}");
    let buffer = terminal.backend().buffer().clone();
    let end = column_of(&buffer, 23, "END").expect("the end of the line in view");
    assert_eq!(at.x, end + 3);
    // Home scrolls back to the start
    press(&mut app, KeyCode::Home);
    let mut terminal = render(&mut app, 80, 24);
    let buffer = terminal.backend().buffer().clone();
    let start = column_of(&buffer, 23, "w0 w1").expect("the start in view");
    assert_eq!(cursor(&mut terminal), Position::new(start, 23));
}

#[test]
fn typed_format_characters_are_drawn_visibly() {
    let mut app = app();
    press(&mut app, KeyCode::Char('/'));
    // a right-to-left override would reorder what follows it on screen
    typed(&mut app, "a\u{202e}b");
    let terminal = render(&mut app, 80, 24);
    let buffer = terminal.backend().buffer();
    let all: String = (0..24).map(|y| line(buffer, y)).collect();
    assert!(!all.contains('\u{202e}'));
    assert!(
        line(buffer, 23).contains("a\\u{202e}b"),
        "{}",
        line(buffer, 23)
    );
    assert!(
        line(buffer, 2).contains("a\\u{202e}b"),
        "header: {}",
        line(buffer, 2)
    );
}

#[test]
fn search_prompt_with_old_value_80x24() {
    let mut app = app();
    press(&mut app, KeyCode::Char('/'));
    typed(&mut app, "sleep 3601");
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('/'));
    insta::assert_snapshot!(render(&mut app, 80, 24).backend());
}

#[test]
fn search_prompt_with_invalid_term_80x24() {
    let mut app = app();
    press(&mut app, KeyCode::Char('/'));
    typed(&mut app, "exit:!0 pid:abc");
    insta::assert_snapshot!(render(&mut app, 80, 24).backend());
}

#[test]
fn filter_in_header_and_footer_160x45() {
    let mut app = app();
    press(&mut app, KeyCode::Char('/'));
    typed(&mut app, "exit:!0 -ld");
    press(&mut app, KeyCode::Enter);
    insta::assert_snapshot!(render(&mut app, 160, 45).backend());
}

#[test]
fn filter_in_footer_at_80_columns() {
    let mut app = app();
    press(&mut app, KeyCode::Char('/'));
    typed(&mut app, "user:root");
    press(&mut app, KeyCode::Enter);
    let terminal = render(&mut app, 80, 24);
    let footer = line(terminal.backend().buffer(), 23);
    assert!(
        footer.starts_with(" Filter  user:root  Esc Clear"),
        "{footer}"
    );
}

#[test]
fn paused_header_shows_the_rates() {
    let mut app = app();
    press(&mut app, KeyCode::Char(' '));
    let execs: Vec<TraceEvent> = (0..7)
        .map(|i| TraceEvent::Exec(process(500 + i, "burst", 100)))
        .collect();
    app.apply(Message::Events(execs));
    let terminal = render(&mut app, 80, 24);
    let header = line(terminal.backend().buffer(), 1);
    assert!(header.contains("execs/s 7 "), "{header}");
    assert!(line(terminal.backend().buffer(), 2).contains("PAUSED: 7"));
}
