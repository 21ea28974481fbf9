//! Source messages waiting to be applied to the App, taken in slices so a
//! huge batch (a replay's two million exits at one timestamp, a full ring
//! buffer) cannot freeze the dashboard: the loop applies what fits in its
//! time budget, then draws and reads keys, then goes on.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::app::App;
use crate::backlog;
use crate::event::TraceEvent;
use crate::source::Message;

/// Events applied between two looks at the clock: small enough that one
/// slice costs a few milliseconds, large enough that the look costs nothing.
const SLICE: usize = 2_048;

enum Waiting {
    Message(Message),
    /// the rest of a batch too large to apply at once, in order
    Rest(std::vec::IntoIter<TraceEvent>),
}

#[derive(Default)]
pub struct Intake {
    waiting: VecDeque<Waiting>,
}

impl Intake {
    /// Queues a message behind those already waiting: order is kept.
    pub fn push(&mut self, message: Message) {
        self.waiting.push_back(match message {
            Message::Events(events) if events.len() > SLICE => Waiting::Rest(events.into_iter()),
            other => Waiting::Message(other),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Applies waiting messages until they run out or `budget` is spent;
    /// returns their backlog weight (see `backlog::weight`), to take off.
    pub fn apply(&mut self, app: &mut App, budget: Duration) -> usize {
        let started = Instant::now();
        let mut taken = 0;
        while let Some(waiting) = self.waiting.pop_front() {
            let message = match waiting {
                Waiting::Message(message) => message,
                Waiting::Rest(mut rest) => {
                    let slice: Vec<TraceEvent> = rest.by_ref().take(SLICE).collect();
                    if rest.len() > 0 {
                        self.waiting.push_front(Waiting::Rest(rest));
                    }
                    Message::Events(slice)
                }
            };
            taken += backlog::weight(&message);
            app.apply(message);
            if started.elapsed() >= budget {
                break;
            }
        }
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::fixtures::{self, T0};
    use crate::app::{Action, AppConfig};
    use crate::event::WallTime;
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use ratatui::{backend::TestBackend, layout::Rect, Terminal};

    /// Two million exits with one timestamp, as one message.
    fn huge_batch() -> Message {
        let events = (0..2_000_000u32)
            .map(|i| {
                let mut p = fixtures::process(i % 4_000_000 + 2, "burst", 0);
                p.start = WallTime(T0);
                TraceEvent::Exit(fixtures::exit(p, 0, 0))
            })
            .collect();
        Message::Events(events)
    }

    fn thread_cpu() -> Duration {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: ts is a valid timespec to write into.
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    }

    #[test]
    fn a_huge_batch_leaves_room_for_frames_and_keys() {
        let mut app = App::new(AppConfig {
            max_finished: 100_000,
            ..fixtures::config()
        });
        let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
        let mut intake = Intake::default();
        intake.push(huge_batch());
        let (mut turns, mut taken, mut slowest) = (0, 0, Duration::ZERO);
        let mut finished_seen = Vec::new();
        while !intake.is_empty() {
            // one turn of the dashboard's loop: apply within the budget,
            // draw a frame, answer a key
            // this thread's CPU time, not the wall clock: on a loaded
            // host (the other tests run beside this one) preemption would
            // be counted as the dashboard's own work
            let started = thread_cpu();
            taken += intake.apply(&mut app, Duration::from_millis(20));
            let viewport = crate::ui::viewport(Rect::new(0, 0, 120, 40), &app);
            app.prepare(&viewport);
            terminal.draw(|f| crate::ui::draw(f, &app)).unwrap();
            let quit = app.handle_key(KeyEvent::new(KeyCode::Char('?'), KeyModifiers::NONE));
            assert_eq!(quit, Action::None);
            app.handle_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
            slowest = slowest.max(thread_cpu().saturating_sub(started));
            finished_seen.push(app.finished_count());
            turns += 1;
        }
        eprintln!("2,000,000 exits in {turns} turns, the slowest {slowest:?}");
        assert_eq!(taken, 2_000_000);
        assert_eq!(app.finished_count(), 100_000);
        // the frames in between showed the rows arriving
        assert!(
            turns > 10 && finished_seen[0] < 100_000,
            "{finished_seen:?}"
        );
        // a key waits for at most one turn
        assert!(slowest < Duration::from_millis(100), "{slowest:?}");
        let q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(app.handle_key(q), Action::Quit);
    }

    #[test]
    fn order_is_kept_across_slices() {
        let mut app = App::new(fixtures::config());
        let mut intake = Intake::default();
        let exits: Vec<TraceEvent> = (0..5_000u32)
            .map(|i| TraceEvent::Exit(fixtures::exit(fixtures::process(i + 2, "a", 0), 1, 0)))
            .collect();
        intake.push(Message::Events(exits));
        intake.push(Message::End);
        // no budget: one slice per turn, and End only after every exit
        let mut turns = 0;
        while !intake.is_empty() {
            assert!(!app.source_ended);
            intake.apply(&mut app, Duration::ZERO);
            turns += 1;
        }
        assert_eq!(turns, 4);
        assert!(app.source_ended);
    }
}
