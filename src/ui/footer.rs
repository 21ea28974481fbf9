//! The bottom line: the main keys, or the open prompt.

use ratatui::layout::Rect;
use ratatui::style::Stylize;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::{App, Mode, PromptKind, BINDINGS};

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let line = match &app.mode {
        Mode::Prompt(prompt) => {
            let (label, hint) = match prompt.kind {
                PromptKind::Search => (" Search: ", "  Enter keep · Esc clear"),
                PromptKind::MinDuration => (
                    " Min duration (150ms, 2s, 0 = all): ",
                    "  Enter apply · Esc cancel",
                ),
            };
            let mut spans = vec![
                Span::from(label).bold().black().on_cyan(),
                Span::raw(" "),
                Span::raw(crate::sanitize::visible(&prompt.input)),
                Span::from("▏").cyan(),
                Span::from(hint).dark_gray(),
            ];
            if let Some(error) = &prompt.error {
                spans.push(Span::raw("  "));
                spans.push(Span::from(error.clone()).white().on_red());
            }
            Line::from(spans)
        }
        _ => {
            let mut spans = Vec::new();
            for b in BINDINGS {
                if let Some(name) = b.footer {
                    let key = b.label.split(' ').next().unwrap_or(b.label);
                    spans.push(Span::from(format!(" {key}")).bold().black().on_cyan());
                    spans.push(Span::from(format!(" {name} ")));
                }
            }
            Line::from(spans)
        }
    };
    frame.render_widget(Paragraph::new(line), area);
}
