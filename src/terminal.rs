//! The terminal, owned for the dashboard's lifetime and always given back:
//! on return, on error and on panic.

use std::io::stdout;

use anyhow::{Context, Result};
use ratatui::crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{enable_raw_mode, EnterAlternateScreen};
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

    /// Gives the terminal back, as on exit, to stop for a while: mouse
    /// reporting off, the cursor shown, the main screen, cooked mode.
    pub fn suspend(&mut self) -> Result<()> {
        execute!(stdout(), DisableMouseCapture).context("disabling mouse reporting")?;
        self.terminal.show_cursor().context("showing the cursor")?;
        ratatui::try_restore().context("restoring the terminal")
    }

    /// Takes the terminal again after `suspend`, and draws it all anew.
    pub fn resume(&mut self) -> Result<()> {
        enable_raw_mode().context("entering raw mode")?;
        execute!(stdout(), EnterAlternateScreen, EnableMouseCapture)
            .context("entering the alternate screen")?;
        self.redraw()
    }

    /// The next frame draws every cell: what was on the screen is unknown.
    pub fn redraw(&mut self) -> Result<()> {
        self.terminal.clear().context("clearing the terminal")
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = execute!(stdout(), DisableMouseCapture);
        ratatui::restore();
    }
}
