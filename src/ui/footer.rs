//! The bottom line: the search in force and the main keys, or the open
//! prompt.

use ratatui::layout::Rect;
use ratatui::style::Stylize;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::prompt;
use crate::app::{App, Mode, BINDINGS};

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    if let Mode::Prompt(p) = &app.mode {
        return prompt::render(frame, area, p);
    }
    let mut spans = Vec::new();
    // the search first: at 80 columns the keys are cut, the filter must not be
    if !app.search.is_empty() {
        spans.push(Span::from(" Filter ").bold().black().on_yellow());
        spans.push(Span::from(format!(" {} ", crate::sanitize::visible(&app.search))).yellow());
        spans.push(Span::from(" Esc").bold().black().on_cyan());
        spans.push(Span::from(" Clear "));
    }
    for b in BINDINGS {
        if let Some(name) = b.footer {
            let key = b.label.split(' ').next().unwrap_or(b.label);
            spans.push(Span::from(format!(" {key}")).bold().black().on_cyan());
            spans.push(Span::from(format!(" {name} ")));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
