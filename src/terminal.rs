//! The terminal, owned for the dashboard's lifetime and always given back:
//! on return, on error and on panic.

use std::io::stdout;

use anyhow::{Context, Result};
use ratatui::crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use ratatui::crossterm::execute;
use ratatui::DefaultTerminal;

pub struct Screen {
    pub terminal: DefaultTerminal,
}

impl Screen {
    /// Enters the alternate screen in raw mode with mouse reporting.
    pub fn enter() -> Result<Screen> {
        let terminal = ratatui::try_init().context("opening the terminal")?;
        // ratatui's panic hook restores the screen but not mouse reporting
        let restore_screen = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = execute!(stdout(), DisableMouseCapture);
            restore_screen(info);
        }));
        let screen = Screen { terminal };
        execute!(stdout(), EnableMouseCapture).context("enabling mouse reporting")?;
        Ok(screen)
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = execute!(stdout(), DisableMouseCapture);
        ratatui::restore();
    }
}
