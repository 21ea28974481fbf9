//! The bound on what waits between the kernel backend and its consumer.
//!
//! The backend sends batches on an ordinary channel; this counts the events
//! (and snapshot rows) sent but not yet taken. When the count reaches the
//! cap the backend stops draining the ring buffer, so a consumer that cannot
//! keep up (a stalled `--json` reader, a terminal stopped by XOFF) makes the
//! kernel drop and count events, instead of tracer-tui's memory growing.
//! One counter update per batch keeps the normal path as cheap as before.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::source::Message;

/// Events that may wait for the consumer before the backend stops reading
/// the kernel: about a second of the fastest storm measured, and (with the
/// kernel's argv limit) tens of MiB at most.
pub const MAX_WAITING: usize = 16_384;

/// Shared by the backend (which adds what it sends) and its consumer
/// (which takes off what it has handled).
#[derive(Clone, Debug)]
pub struct Backlog {
    waiting: Arc<AtomicUsize>,
    cap: usize,
}

impl Default for Backlog {
    fn default() -> Self {
        Backlog::new(MAX_WAITING)
    }
}

impl Backlog {
    pub fn new(cap: usize) -> Self {
        Backlog {
            waiting: Arc::new(AtomicUsize::new(0)),
            cap,
        }
    }

    /// True when the consumer is this far behind: send nothing more.
    pub fn full(&self) -> bool {
        self.waiting() >= self.cap
    }

    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Counts what is about to be sent.
    pub fn sent(&self, weight: usize) {
        self.waiting.fetch_add(weight, Ordering::Relaxed);
    }

    /// Takes off what the consumer has handled.
    pub fn taken(&self, weight: usize) {
        // never below zero, even if a consumer takes off more than was
        // counted (a replay's messages share the dashboard's loop)
        let _ = self
            .waiting
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_sub(weight))
            });
    }
}

/// What a message weighs in the backlog: its events, snapshot rows or
/// per-command rows.
pub fn weight(message: &Message) -> usize {
    match message {
        Message::Events(events) => events.len(),
        Message::Snapshot(processes) => processes.len(),
        Message::Commands(update) => update.changed.len(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_at_the_cap_and_free_again_once_taken() {
        let producer = Backlog::new(10);
        let consumer = producer.clone();
        producer.sent(6);
        assert!(!producer.full());
        producer.sent(4);
        assert!(producer.full());
        consumer.taken(4);
        assert!(!producer.full());
        consumer.taken(100);
        assert_eq!(producer.waiting(), 0);
    }

    #[test]
    fn weighs_events_and_rows() {
        assert_eq!(weight(&Message::Events(vec![])), 0);
        assert_eq!(weight(&Message::Snapshot(vec![Default::default(); 3])), 3);
        assert_eq!(weight(&Message::End), 0);
        let update = crate::source::CommandUpdate {
            changed: vec![crate::event::CommandTotals::new("sh"); 2],
            ..Default::default()
        };
        assert_eq!(weight(&Message::Commands(update)), 2);
    }
}
