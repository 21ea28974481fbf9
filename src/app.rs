//! Pure dashboard state. Events and keys go in, actions come out; the App
//! never spawns, reads a clock, touches libbpf or the terminal, so every
//! behaviour of the dashboard is a plain unit test.

mod columns;
mod command_columns;
mod commands;
mod duration_filter;
mod filter;
mod forest;
mod input;
mod keys;
mod line_editor;
mod prepare;
mod prompt;
mod rates;
mod rows;
mod store;
mod table;
mod tree;
mod tree_columns;
mod view;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use ratatui::layout::Rect;

pub use columns::{Column, FinishedColumn, LiveColumn, Sort, Width, Yield};
pub use command_columns::{CommandColumn, RECENT_SECS};
pub use commands::{CommandRow, Commands, PerSecond, WINDOW_SECS};
pub use filter::Filter;
pub use forest::{Entry, Forest, Proc, Totals, GROUP_MIN};
pub use keys::{Binding, Op, BINDINGS};
pub use line_editor::LineEditor;
pub use prompt::{Prompt, PromptKind};
pub use rows::{FinishedRow, LiveRow};
pub use store::Store;
pub use table::{Table, TableOps, Tables, ViewId};
pub use tree::{TreeLine, TreeTable, BIG_FOREST, MAX_DEPTH};
pub use tree_columns::TreeColumn;
pub use view::View;

use crate::event::{Drops, TraceEvent, WallTime};
use crate::source::{Message, ReplayPosition};
use duration_filter::DurationFilter;
use rates::Rates;

/// Steps of `+` and `-`.
pub const MIN_DURATION_PRESETS: [Duration; 6] = [
    Duration::ZERO,
    Duration::from_millis(1),
    Duration::from_millis(10),
    Duration::from_millis(100),
    Duration::from_secs(1),
    Duration::from_secs(10),
];

/// How long a new or just-finished row stays marked.
pub const HIGHLIGHT: Duration = Duration::from_secs(3);

/// What the dashboard shows about where its data comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostInfo {
    pub host: String,
    pub kernel: String,
    pub boot: Option<WallTime>,
    /// "kernel", or "replay FILE"
    pub source: String,
    /// for showing times of day
    pub utc_offset_secs: i64,
}

#[derive(Clone, Debug)]
pub struct AppConfig {
    pub max_finished: usize,
    pub min_duration: Duration,
    /// a replay has no kernel to apply the min duration or add up the
    /// commands: the App does
    pub filter_in_app: bool,
    pub users: HashMap<u32, String>,
    pub host: HostInfo,
}

/// What the App asks main to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    None,
    Quit,
    SetMinDuration(Duration),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    Normal,
    Help,
    Prompt(Prompt),
}

/// Where a table was drawn, so mouse clicks can be mapped to it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableArea {
    pub header: Rect,
    pub body: Rect,
    /// x and width of each column, in the column enum's order
    pub columns: Vec<(u16, u16)>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Viewport {
    /// the tables on screen
    pub tables: Vec<(ViewId, TableArea)>,
    /// the detail pane's lines and the rows it has for them
    pub detail_lines: u16,
    pub detail_height: u16,
}

impl Viewport {
    pub fn area(&self, id: ViewId) -> Option<&TableArea> {
        self.tables.iter().find(|(v, _)| *v == id).map(|(_, a)| a)
    }
}

/// The selected row of the view in focus.
pub enum Selected<'a> {
    Live(&'a LiveRow),
    Finished(&'a FinishedRow),
    Command(&'a CommandRow),
}

pub struct App {
    config: AppConfig,
    /// the data every view reads
    pub store: Store,
    pub tables: Tables,
    /// the view with the keys
    pub view: ViewId,
    /// the process view `c` goes back to from Commands
    process_view: ViewId,
    /// the view `t` goes back to from the tree
    tree_from: ViewId,
    pub mode: Mode,
    /// the search in force, as typed; `filter` is it parsed
    pub search: String,
    filter: Filter,
    pub detail: bool,
    /// the open detail pane has the keys: arrows scroll it
    pub detail_focus: bool,
    /// the detail pane's first line shown
    pub detail_scroll: u16,
    /// the row the detail pane scrolled for: another row starts at the top
    detail_for: Option<(ViewId, u64)>,
    /// the detail pane's (lines, rows) from the last layout
    detail_max: (u16, u16),
    /// the min duration's history, for what its rows can claim
    duration_filter: DurationFilter,
    /// messages held back while paused
    held: Option<Vec<Message>>,
    pub held_events: u64,
    pub now: WallTime,
    rates: Rates,
    pub drops: Drops,
    /// the min duration in force (read back from the kernel)
    pub min_duration: Duration,
    /// a change sent to the kernel, not yet confirmed
    pub requested_min_duration: Option<Duration>,
    pub execs_seen: u64,
    pub exits_seen: u64,
    /// a command's failure, shown in the header
    pub notice: Option<String>,
    /// the source stopped with this error
    pub failure: Option<String>,
    /// a replay has delivered everything
    pub source_ended: bool,
    /// a replay's clock and how far through its file it is
    pub replay_position: Option<ReplayPosition>,
    /// what is traced when it is one tree, and how its command ended,
    /// for the header ("make exited with 2 after 3.2 s")
    pub scope_line: Option<String>,
}

impl App {
    pub fn new(config: AppConfig) -> Self {
        let duration_filter = DurationFilter::new(config.min_duration, config.filter_in_app);
        Self {
            min_duration: config.min_duration,
            store: Store::new(&config.users, config.max_finished),
            config,
            tables: Tables::default(),
            view: ViewId::Finished,
            process_view: ViewId::Finished,
            tree_from: ViewId::Finished,
            mode: Mode::Normal,
            search: String::new(),
            filter: Filter::default(),
            detail: false,
            detail_focus: false,
            detail_scroll: 0,
            detail_for: None,
            detail_max: (0, 0),
            duration_filter,
            held: None,
            held_events: 0,
            now: WallTime::default(),
            rates: Rates::default(),
            drops: Drops::default(),
            requested_min_duration: None,
            execs_seen: 0,
            exits_seen: 0,
            notice: None,
            failure: None,
            scope_line: None,
            source_ended: false,
            replay_position: None,
        }
    }

    pub fn host(&self) -> &HostInfo {
        &self.config.host
    }

    pub fn max_finished(&self) -> usize {
        self.config.max_finished
    }

    pub fn live_count(&self) -> usize {
        self.store.live_count()
    }

    pub fn finished_count(&self) -> usize {
        self.store.finished_count()
    }

    /// Finished rows dropped to keep the list at its cap.
    pub fn evicted(&self) -> u64 {
        self.store.evicted
    }

    pub fn paused(&self) -> bool {
        self.held.is_some()
    }

    /// (execs/s, exits/s) over the last second.
    pub fn rates(&self) -> (u64, u64) {
        self.rates.per_second(self.now)
    }

    /// Execs per second over the last minute, oldest first.
    pub fn exec_history(&self) -> Vec<u64> {
        self.rates.history(self.now)
    }

    pub fn live_row(&self, pid: u32) -> Option<&LiveRow> {
        self.store.live_row(pid)
    }

    pub fn finished_row(&self, seq: u64) -> Option<&FinishedRow> {
        self.store.finished_row(seq)
    }

    pub fn command_row(&self, id: u64) -> Option<&CommandRow> {
        self.store.commands.get(id)
    }

    /// The known ancestors of a process: (pid, comm), nearest first.
    pub fn parent_chain(&self, ppid: u32) -> Vec<(u32, String)> {
        self.store.parent_chain(ppid)
    }

    /// Whether the App adds up the commands from exits (a replay) rather
    /// than taking the kernel's totals.
    fn counts_commands(&self) -> bool {
        self.config.filter_in_app
    }

    /// Time moves on (wall clock for the kernel, recorded time for a replay).
    pub fn tick(&mut self, now: WallTime) {
        let second = self.now.0 / 1_000_000_000;
        self.now = self.now.max(now);
        self.rates.prune(self.now);
        // runs in the last seconds change with time alone
        if self.now.0 / 1_000_000_000 != second
            && self.tables.commands.sort.column == CommandColumn::Recent
        {
            self.tables.commands.invalidate();
        }
    }

    /// Takes in what a source reported.
    pub fn apply(&mut self, message: Message) {
        // counted on arrival: a pause holds back the display, not collection
        if let Message::Events(events) = &message {
            self.rates.count(events);
        }
        if let Some(held) = &mut self.held {
            match message {
                Message::Events(ref events) => self.held_events += events.len() as u64,
                Message::Clock(_)
                | Message::Failed(_)
                | Message::End
                | Message::MinDuration(_)
                | Message::CommandFailed(_)
                | Message::Warning(_)
                | Message::Commands(_) => {
                    // time, totals, the filter's state, failures and the
                    // end are not held back
                    return self.apply_now(message);
                }
                // a snapshot replaces the live table: only the newest matters
                Message::Snapshot(_) => held.retain(|m| !matches!(m, Message::Snapshot(_))),
            }
            held.push(message);
            // a pause must not hold more than the finished list could show
            if self.held_events as usize > self.config.max_finished.saturating_mul(2) {
                self.release_held();
            }
            return;
        }
        self.apply_now(message);
    }

    fn apply_now(&mut self, message: Message) {
        match message {
            Message::Events(events) => {
                // under a storm most processes begin and end within one
                // batch: they need no live row, only a finished one
                let ended: HashSet<(u32, WallTime)> = events
                    .iter()
                    .filter_map(|e| match e {
                        TraceEvent::Exit(x) => Some((x.process.pid, x.process.start)),
                        _ => None,
                    })
                    .collect();
                for event in events {
                    self.apply_event(event, &ended);
                }
            }
            Message::Snapshot(processes) => {
                self.store.snapshot(processes, self.now);
                self.tables.live.invalidate();
                self.tables.tree.store_changed();
            }
            Message::MinDuration(d) => {
                self.duration_filter.applied(self.now, d);
                if d != self.min_duration {
                    self.tables.finished.invalidate();
                }
                self.min_duration = d;
                self.requested_min_duration = None;
            }
            Message::CommandFailed(reason) => {
                self.requested_min_duration = None;
                self.notice = Some(reason);
            }
            Message::Failed(reason) => self.failure = Some(reason),
            Message::Warning(note) => self.notice = Some(note),
            Message::Clock(position) => {
                self.tick(position.clock);
                self.replay_position = Some(position);
            }
            Message::End => self.source_ended = true,
            Message::Commands(update) => {
                // the view merges the changed rows back in at its next frame
                if !self.counts_commands() {
                    self.store.commands.update(update);
                }
            }
        }
    }

    fn release_held(&mut self) {
        let held = self.held.as_mut().map(std::mem::take).unwrap_or_default();
        self.held_events = 0;
        for message in held {
            self.apply_now(message);
        }
    }

    fn apply_event(&mut self, event: TraceEvent, ended: &HashSet<(u32, WallTime)>) {
        let changed = match event {
            TraceEvent::Exec(p) => {
                self.execs_seen += 1;
                self.store.exec(p, self.now, ended)
            }
            TraceEvent::Exit(e) => {
                self.exits_seen += 1;
                // every exit is kept: the min duration is a filter over the
                // rows, so raising it and lowering it again loses nothing
                let changed = self.store.exit(e);
                // a replay adds up its commands from its exits; the kernel
                // counts them all itself
                self.store.note_newest(self.counts_commands());
                changed
            }
            TraceEvent::Fork(p) => self.store.fork(p, self.now, ended),
            TraceEvent::Reparent { parent, reaper, .. } => self.store.reparent(parent, reaper),
            TraceEvent::ExecFailed(f) => self.store.exec_failed(&f),
            // a replay's live set: the kernel's snapshots do this live
            TraceEvent::Gone { processes, .. } => self.store.gone(&processes),
            TraceEvent::Lost { drops, .. } => {
                self.drops = drops;
                store::Changed::default()
            }
        };
        if changed.live {
            self.tables.live.touched();
        }
        if changed.live || changed.finished_from.is_some() {
            self.tables.tree.store_changed();
        }
        if let Some(seq) = changed.finished_from {
            self.tables.finished.grew_from(seq);
        }
    }

    /// From when the finished rows are complete under the min duration in
    /// force, when it was lowered since the start (the kernel never sent
    /// the shorter exits before).
    pub fn finished_complete_since(&self) -> Option<WallTime> {
        self.duration_filter.complete_since(self.min_duration)
    }

    /// Sets the min duration: through the kernel, or here for a replay.
    fn set_min_duration(&mut self, d: Duration) -> Action {
        self.notice = None;
        if self.config.filter_in_app {
            self.min_duration = d;
            self.tables.finished.invalidate();
            Action::None
        } else {
            self.requested_min_duration = Some(d);
            Action::SetMinDuration(d)
        }
    }

    fn effective_min_duration(&self) -> Duration {
        self.requested_min_duration.unwrap_or(self.min_duration)
    }

    /// Puts a search in force; one that does not parse leaves the last.
    fn set_search(&mut self, text: String) -> Result<(), String> {
        self.filter = Filter::parse(&text)?;
        self.search = text;
        for id in ViewId::ALL {
            self.tables.get_mut(id).invalidate();
        }
        Ok(())
    }
}

/// A duration as a person types it: "0", "150ms", "2s", "1m 30s".
pub fn format_duration(d: Duration) -> String {
    if d.is_zero() {
        return "0".into();
    }
    humantime::format_duration(d).to_string()
}

#[cfg(test)]
pub mod fixtures;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_commands;
#[cfg(test)]
mod tests_input;
#[cfg(test)]
mod tests_layout;
#[cfg(test)]
mod tests_sort;
#[cfg(test)]
mod tests_tree;
