//! The open prompt, on the bottom line: the text being edited, its
//! selection reversed (the old value, which the first key typed replaces)
//! and the terminal's cursor where the next character goes.

use ratatui::layout::{Position, Rect};
use ratatui::style::{Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::{Prompt, PromptKind};

pub fn render(frame: &mut Frame, area: Rect, prompt: &Prompt) {
    let (label, hint) = match prompt.kind {
        PromptKind::Search => (
            " Search: ",
            "  Enter keep · Esc cancel · terms: pid:N user:NAME exit:!0 -word \"a b\"",
        ),
        PromptKind::MinDuration => (
            " Min duration (150ms, 2s, 0 = all): ",
            "  Enter apply · Esc cancel · ^U clear",
        ),
    };
    let label = Span::from(label).bold().black().on_cyan();
    let start = label.width() as u16 + 1;
    // one cell stays free after the text for the cursor at its end
    let room = area.width.saturating_sub(start + 1) as usize;
    let (text, cursor) = visible_text(prompt, room);
    let mut spans = vec![label, Span::raw(" ")];
    let style = if prompt.editor.selected() {
        Style::new().reversed()
    } else {
        Style::new()
    };
    spans.push(Span::styled(text, style));
    if let Some(error) = &prompt.error {
        spans.push(Span::raw("  "));
        spans.push(Span::from(error.clone()).white().on_red());
    }
    spans.push(Span::from(hint).dark_gray());
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
    let x = area.x + start + cursor as u16;
    if x < area.right() {
        frame.set_cursor_position(Position::new(x, area.y));
    }
}

/// The part of the text that fits in `room` cells, scrolled so the cursor
/// shows, and the cursor's column in it. Every character is drawn through
/// `visible`, though the editor takes no control characters, so nothing
/// typed or pasted can act on the terminal.
fn visible_text(prompt: &Prompt, room: usize) -> (String, usize) {
    let cells: Vec<(String, usize)> = prompt
        .text()
        .chars()
        .map(|c| {
            let shown = crate::sanitize::visible(c.encode_utf8(&mut [0; 4]));
            let width = Span::raw(shown.as_str()).width();
            (shown, width)
        })
        .collect();
    let cursor = prompt.editor.cursor().min(cells.len());
    // drop characters from the left until the cursor fits
    let mut first = 0;
    while first < cursor && cells[first..cursor].iter().map(|c| c.1).sum::<usize>() > room {
        first += 1;
    }
    let column = cells[first..cursor].iter().map(|c| c.1).sum();
    let mut text = String::new();
    let mut used = 0;
    for (shown, width) in &cells[first..] {
        if used + width > room {
            break;
        }
        text.push_str(shown);
        used += width;
    }
    (text, column)
}
