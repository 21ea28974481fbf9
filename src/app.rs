//! Pure dashboard state. Events and keys go in, actions come out; the App
//! never spawns, reads a clock, touches libbpf or the terminal, so every
//! behaviour of the dashboard is a plain unit test.

mod columns;
mod duration_filter;
mod filter;
mod keys;
mod line_editor;
mod prompt;
mod rates;
mod rows;
mod view;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use ratatui::crossterm::event::{KeyEvent, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

pub use columns::{Column, FinishedColumn, LiveColumn, Sort, Width, Yield};
pub use filter::Filter;
pub use keys::{Binding, Op, BINDINGS};
pub use line_editor::LineEditor;
pub use prompt::{Prompt, PromptKind};
pub use rows::{FinishedRow, LiveRow};
pub use view::View;

use crate::event::{Drops, ExitInfo, Origin, ProcessInfo, TraceEvent, WallTime};
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
    /// a replay has no kernel to apply the min duration: the App does
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    Live,
    Finished,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    Normal,
    Help,
    Prompt(Prompt),
}

/// Where the tables were drawn, so mouse clicks can be mapped to them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableArea {
    pub header: Rect,
    pub body: Rect,
    /// x and width of each column, in the column enum's order
    pub columns: Vec<(u16, u16)>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Viewport {
    pub live: Option<TableArea>,
    pub finished: Option<TableArea>,
    /// the detail pane's lines and the rows it has for them
    pub detail_lines: u16,
    pub detail_height: u16,
}

/// How the finished table's order must be brought up to date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stale {
    No,
    /// rows from this seq on are new
    From(u64),
    All,
}

/// The selected row, from either table.
pub enum Selected<'a> {
    Live(&'a LiveRow),
    Finished(&'a FinishedRow),
}

pub struct App {
    config: AppConfig,
    /// user names, shared by every row
    users: HashMap<u32, Arc<str>>,
    live: HashMap<u32, LiveRow>,
    finished: VecDeque<FinishedRow>,
    /// the newest finished row of each pid, for parent chains
    finished_by_pid: HashMap<u32, u64>,
    next_seq: u64,
    pub evicted: u64,
    pub live_sort: Sort<LiveColumn>,
    pub finished_sort: Sort<FinishedColumn>,
    pub live_view: View<u32>,
    pub finished_view: View<u64>,
    live_stale: bool,
    finished_stale: Stale,
    pub focus: Focus,
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
    detail_for: Option<(Focus, u64)>,
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
    seen_snapshot: bool,
    /// full sorts of the finished list so far: frames must not cause them
    pub full_sorts: u64,
}

impl App {
    pub fn new(config: AppConfig) -> Self {
        let duration_filter = DurationFilter::new(config.min_duration, config.filter_in_app);
        Self {
            min_duration: config.min_duration,
            users: config
                .users
                .iter()
                .map(|(&uid, name)| (uid, Arc::from(name.as_str())))
                .collect(),
            config,
            live: HashMap::new(),
            finished: VecDeque::new(),
            finished_by_pid: HashMap::new(),
            next_seq: 0,
            evicted: 0,
            live_sort: Sort::by(LiveColumn::Pid),
            finished_sort: Sort::by(FinishedColumn::End),
            live_view: View::default(),
            finished_view: View::default(),
            live_stale: true,
            finished_stale: Stale::All,
            focus: Focus::Finished,
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
            source_ended: false,
            replay_position: None,
            seen_snapshot: false,
            full_sorts: 0,
        }
    }

    pub fn host(&self) -> &HostInfo {
        &self.config.host
    }

    pub fn max_finished(&self) -> usize {
        self.config.max_finished
    }

    pub fn live_count(&self) -> usize {
        self.live.len()
    }

    pub fn finished_count(&self) -> usize {
        self.finished.len()
    }

    pub fn paused(&self) -> bool {
        self.held.is_some()
    }

    /// (execs/s, exits/s) over the last second.
    pub fn rates(&self) -> (u64, u64) {
        self.rates.per_second(self.now)
    }

    pub fn live_row(&self, pid: u32) -> Option<&LiveRow> {
        self.live.get(&pid)
    }

    pub fn finished_row(&self, seq: u64) -> Option<&FinishedRow> {
        let first = self.finished.front()?.seq;
        self.finished
            .get(usize::try_from(seq.checked_sub(first)?).ok()?)
    }

    /// Time moves on (wall clock for the kernel, recorded time for a replay).
    pub fn tick(&mut self, now: WallTime) {
        self.now = self.now.max(now);
        self.rates.prune(self.now);
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
                    // time, the filter's state, failures and the end are not held back
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
            Message::Snapshot(processes) => self.apply_snapshot(processes),
            Message::MinDuration(d) => {
                self.duration_filter.applied(self.now, d);
                if d != self.min_duration {
                    self.finished_stale = Stale::All;
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
            Message::Commands(_) => {}
        }
    }

    fn release_held(&mut self) {
        let held = self.held.as_mut().map(std::mem::take).unwrap_or_default();
        self.held_events = 0;
        for message in held {
            self.apply_now(message);
        }
    }

    fn user(&mut self, uid: u32) -> Arc<str> {
        let name = self.users.entry(uid).or_insert_with(|| {
            if uid == u32::MAX {
                Arc::from("?")
            } else {
                Arc::from(uid.to_string())
            }
        });
        Arc::clone(name)
    }

    fn apply_event(&mut self, event: TraceEvent, ended: &HashSet<(u32, WallTime)>) {
        match event {
            TraceEvent::Exec(p) => {
                self.execs_seen += 1;
                if ended.contains(&(p.pid, p.start)) {
                    // an image this process exec'd before this one is gone too
                    if self.live.remove(&p.pid).is_some() {
                        self.live_stale = true;
                    }
                    return;
                }
                let (pid, user, seen) = (p.pid, self.user(p.uid), self.now.max(p.start));
                self.live.insert(pid, LiveRow::new(p, user, seen));
                self.live_stale = true;
            }
            TraceEvent::Exit(e) => {
                self.exits_seen += 1;
                let mut e = e;
                if self
                    .live
                    .get(&e.process.pid)
                    .is_some_and(|row| same_process(&row.info, &e.process))
                {
                    if let Some(row) = self.live.remove(&e.process.pid) {
                        if e.process.origin == Origin::ExitOnly {
                            // the exit alone says little: what the live row
                            // knew is the process (the row and the detail
                            // pane then show the same)
                            e.process = ProcessInfo {
                                ppid: e.process.ppid,
                                ..row.info
                            };
                        } else if e.process.history.is_empty() && !row.info.history.is_empty() {
                            // a source that sends the exit without the
                            // process's execs and failures: the live row has them
                            e.process.history = row.info.history;
                            e.process.history_dropped = row.info.history_dropped;
                        }
                    }
                    self.live_stale = true;
                }
                // every exit is kept: the min duration is a filter over the
                // rows, so raising it and lowering it again loses nothing
                self.push_finished(e);
            }
            TraceEvent::ExecFailed(f) => {
                if let Some(row) = self.live.get_mut(&f.pid) {
                    if same_start(&row.info, f.start, f.start_boot_ns) {
                        row.info.add_failure(&f);
                        self.live_stale = true;
                    }
                }
            }
            // a replay's live set: the kernel's snapshots do this live
            TraceEvent::Gone { processes, .. } => {
                for (pid, start) in processes {
                    if self.live.get(&pid).is_some_and(|r| r.info.start == start) {
                        self.live.remove(&pid);
                        self.live_stale = true;
                    }
                }
            }
            TraceEvent::Lost { drops, .. } => self.drops = drops,
        }
    }

    fn push_finished(&mut self, exit: ExitInfo) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.finished_by_pid.insert(exit.process.pid, seq);
        let user = self.user(exit.process.uid);
        self.finished.push_back(FinishedRow::new(seq, exit, user));
        while self.finished.len() > self.config.max_finished {
            if let Some(old) = self.finished.pop_front() {
                self.evicted += 1;
                if self.finished_by_pid.get(&old.exit.process.pid) == Some(&old.seq) {
                    self.finished_by_pid.remove(&old.exit.process.pid);
                }
            }
        }
        if self.finished_stale == Stale::No {
            self.finished_stale = Stale::From(seq);
        }
    }

    /// The kernel's pid map is the live table's truth: a lost exit cannot
    /// leave a ghost row past the next snapshot.
    fn apply_snapshot(&mut self, processes: Vec<ProcessInfo>) {
        let mut next = HashMap::with_capacity(processes.len());
        for p in processes {
            let first_seen = match self.live.get(&p.pid) {
                Some(old) if same_process(&old.info, &p) => old.first_seen,
                // the first snapshot is the starting state, not news
                _ if !self.seen_snapshot => WallTime::default(),
                _ => self.now,
            };
            let user = self.user(p.uid);
            next.insert(p.pid, LiveRow::new(p, user, first_seen));
        }
        self.live = next;
        self.seen_snapshot = true;
        self.live_stale = true;
    }

    /// Brings sorting, filtering and scrolling up to date for drawing.
    pub fn prepare(&mut self, viewport: &Viewport) {
        self.prepare_tables(viewport);
        self.detail_max = (viewport.detail_lines, viewport.detail_height);
        let key = self.selection_key();
        if key != self.detail_for {
            self.detail_for = key;
            self.detail_scroll = 0;
        }
        self.clamp_detail();
    }

    fn prepare_tables(&mut self, viewport: &Viewport) {
        self.live_view.height = viewport.live.as_ref().map_or(1, |t| t.body.height as usize);
        self.finished_view.height = viewport
            .finished
            .as_ref()
            .map_or(1, |t| t.body.height as usize);
        if self.live_stale {
            let sort = self.live_sort;
            let mut order: Vec<u32> = self
                .live
                .values()
                .filter(|r| self.filter.live(r))
                .map(|r| r.info.pid)
                .collect();
            order.sort_unstable_by(|a, b| {
                sort.apply(sort.column.compare(&self.live[a], &self.live[b]))
            });
            self.live_view.set_order(order);
            self.live_stale = false;
        }
        match self.finished_stale {
            Stale::No => {
                self.live_view.scroll();
                self.finished_view.scroll();
                return;
            }
            Stale::All => {
                let mut order: Vec<u64> = self
                    .finished
                    .iter()
                    .filter(|r| self.finished_shown(r))
                    .map(|r| r.seq)
                    .collect();
                self.sort_finished(&mut order);
                self.full_sorts += 1;
                self.finished_view.set_order(order);
            }
            Stale::From(first_new) => {
                let oldest = self.finished.front().map_or(0, |r| r.seq);
                let mut fresh: Vec<u64> = self
                    .finished
                    .iter()
                    .rev()
                    .take_while(|r| r.seq >= first_new)
                    .filter(|r| self.finished_shown(r))
                    .map(|r| r.seq)
                    .collect();
                self.sort_finished(&mut fresh);
                let mut old = std::mem::take(&mut self.finished_view.order);
                old.retain(|&s| s >= oldest);
                let merged = self.merge_finished(old, fresh);
                self.finished_view.set_order(merged);
            }
        }
        self.finished_stale = Stale::No;
        self.live_view.scroll();
    }

    /// The finished table's filter: the search and the min duration.
    fn finished_shown(&self, r: &FinishedRow) -> bool {
        DurationFilter::shows(self.min_duration, r.exit.duration_ns) && self.filter.finished(r)
    }

    /// From when the finished rows are complete under the min duration in
    /// force, when it was lowered since the start (the kernel never sent
    /// the shorter exits before).
    pub fn finished_complete_since(&self) -> Option<WallTime> {
        self.duration_filter.complete_since(self.min_duration)
    }

    /// How many live rows the table will show, for sizing it before
    /// `prepare` brings its order up to date.
    pub fn live_shown(&self) -> usize {
        if self.live_stale {
            self.live.values().filter(|r| self.filter.live(r)).count()
        } else {
            self.live_view.order.len()
        }
    }

    /// At most how many finished rows the table will show, for sizing it.
    pub fn finished_shown_bound(&self) -> usize {
        match self.finished_stale {
            Stale::No => self.finished_view.order.len(),
            Stale::From(seq) => {
                self.finished_view.order.len()
                    + usize::try_from(self.next_seq.saturating_sub(seq)).unwrap_or(usize::MAX)
            }
            Stale::All => self.finished.len(),
        }
    }

    /// The selected row as a key for the detail pane's scroll.
    fn selection_key(&self) -> Option<(Focus, u64)> {
        match self.focus {
            Focus::Live => self
                .live_view
                .selected_key()
                .map(|p| (Focus::Live, u64::from(p))),
            Focus::Finished => self
                .finished_view
                .selected_key()
                .map(|s| (Focus::Finished, s)),
        }
    }

    /// Scrolls the detail pane when it has the keys; false when the key is
    /// for the tables.
    fn detail_op(&mut self, op: Op) -> bool {
        if !(self.detail && self.detail_focus) {
            return false;
        }
        let page = self.detail_page();
        let scroll = self.detail_scroll;
        self.detail_scroll = match op {
            Op::Up => scroll.saturating_sub(1),
            Op::Down => scroll.saturating_add(1),
            Op::PageUp => scroll.saturating_sub(page),
            Op::PageDown => scroll.saturating_add(page),
            Op::Home => 0,
            Op::End => u16::MAX,
            _ => return false,
        };
        self.detail_for = self.selection_key();
        self.clamp_detail();
        true
    }

    fn detail_page(&self) -> u16 {
        self.detail_max.1.saturating_sub(1).max(1)
    }

    fn clamp_detail(&mut self) {
        let (lines, height) = self.detail_max;
        self.detail_scroll = self.detail_scroll.min(lines.saturating_sub(height));
    }

    fn finished_cmp(&self, a: u64, b: u64) -> std::cmp::Ordering {
        match (self.finished_row(a), self.finished_row(b)) {
            (Some(x), Some(y)) => self
                .finished_sort
                .apply(self.finished_sort.column.compare(x, y)),
            _ => a.cmp(&b),
        }
    }

    fn sort_finished(&self, order: &mut [u64]) {
        order.sort_unstable_by(|&a, &b| self.finished_cmp(a, b));
    }

    fn merge_finished(&self, old: Vec<u64>, fresh: Vec<u64>) -> Vec<u64> {
        let mut out = Vec::with_capacity(old.len() + fresh.len());
        let (mut i, mut j) = (0, 0);
        while i < old.len() && j < fresh.len() {
            if self.finished_cmp(old[i], fresh[j]).is_le() {
                out.push(old[i]);
                i += 1;
            } else {
                out.push(fresh[j]);
                j += 1;
            }
        }
        out.extend_from_slice(&old[i..]);
        out.extend_from_slice(&fresh[j..]);
        out
    }

    pub fn selected(&self) -> Option<Selected<'_>> {
        match self.focus {
            Focus::Live => self
                .live_view
                .selected_key()
                .and_then(|k| self.live.get(&k))
                .map(Selected::Live),
            Focus::Finished => self
                .finished_view
                .selected_key()
                .and_then(|k| self.finished_row(k))
                .map(Selected::Finished),
        }
    }

    /// The known ancestors of a process: (pid, comm), nearest first.
    pub fn parent_chain(&self, ppid: u32) -> Vec<(u32, String)> {
        let mut chain = Vec::new();
        let mut pid = ppid;
        while pid != 0 && chain.len() < 16 && !chain.iter().any(|&(p, _)| p == pid) {
            let (comm, parent) = if let Some(row) = self.live.get(&pid) {
                (row.info.comm.clone(), row.info.ppid)
            } else if let Some(row) = self
                .finished_by_pid
                .get(&pid)
                .and_then(|&s| self.finished_row(s))
            {
                // the process's name, not its last thread's
                (row.exit.process.comm.clone(), row.exit.process.ppid)
            } else {
                chain.push((pid, "?".to_string()));
                break;
            };
            chain.push((pid, comm));
            pid = parent;
        }
        chain
    }

    /// Sets the min duration: through the kernel, or here for a replay.
    fn set_min_duration(&mut self, d: Duration) -> Action {
        self.notice = None;
        if self.config.filter_in_app {
            self.min_duration = d;
            self.finished_stale = Stale::All;
            Action::None
        } else {
            self.requested_min_duration = Some(d);
            Action::SetMinDuration(d)
        }
    }

    fn effective_min_duration(&self) -> Duration {
        self.requested_min_duration.unwrap_or(self.min_duration)
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> Action {
        if keys::is_interrupt(&key) {
            return Action::Quit;
        }
        match &mut self.mode {
            Mode::Prompt(_) => self.prompt_key(key),
            Mode::Help => {
                if matches!(
                    keys::lookup(&key),
                    Some(Op::Help | Op::Quit | Op::Back | Op::Detail)
                ) {
                    self.mode = Mode::Normal;
                }
                Action::None
            }
            Mode::Normal => match keys::lookup(&key) {
                Some(op) => self.run(op),
                None => Action::None,
            },
        }
    }

    fn view_op(&mut self, f: impl FnOnce(&mut View<u32>), g: impl FnOnce(&mut View<u64>)) {
        match self.focus {
            Focus::Live => f(&mut self.live_view),
            Focus::Finished => g(&mut self.finished_view),
        }
    }

    fn run(&mut self, op: Op) -> Action {
        if self.detail_op(op) {
            return Action::None;
        }
        match op {
            Op::Up => self.view_op(|v| v.move_by(-1), |v| v.move_by(-1)),
            Op::Down => self.view_op(|v| v.move_by(1), |v| v.move_by(1)),
            Op::PageUp => self.view_op(|v| v.page(-1), |v| v.page(-1)),
            Op::PageDown => self.view_op(|v| v.page(1), |v| v.page(1)),
            Op::Home => self.view_op(View::home, View::home),
            Op::End => self.view_op(View::end, View::end),
            // Live, Finished, then the detail pane when it is open
            Op::SwitchTable => match (self.focus, self.detail_focus) {
                (_, true) => {
                    self.detail_focus = false;
                    self.focus = Focus::Live;
                }
                (Focus::Live, false) => self.focus = Focus::Finished,
                (Focus::Finished, false) if self.detail => self.detail_focus = true,
                (Focus::Finished, false) => self.focus = Focus::Live,
            },
            Op::SortNext | Op::SortPrev => {
                let next = op == Op::SortNext;
                match self.focus {
                    Focus::Live => {
                        let c = self.live_sort.column;
                        self.sort_live(if next { c.next() } else { c.prev() });
                    }
                    Focus::Finished => {
                        let c = self.finished_sort.column;
                        self.sort_finished_by(if next { c.next() } else { c.prev() });
                    }
                }
            }
            Op::SortReverse => match self.focus {
                Focus::Live => {
                    self.live_sort.descending = !self.live_sort.descending;
                    self.live_stale = true;
                }
                Focus::Finished => {
                    self.finished_sort.descending = !self.finished_sort.descending;
                    self.finished_stale = Stale::All;
                }
            },
            Op::Search => self.open_search(),
            Op::MinDurationPrompt => self.open_min_duration(),
            Op::MinDurationUp => {
                let current = self.effective_min_duration();
                let next = MIN_DURATION_PRESETS.iter().find(|&&p| p > current);
                return self.set_min_duration(*next.unwrap_or(&MIN_DURATION_PRESETS[5]));
            }
            Op::MinDurationDown => {
                let current = self.effective_min_duration();
                let prev = MIN_DURATION_PRESETS.iter().rev().find(|&&p| p < current);
                return self.set_min_duration(*prev.unwrap_or(&Duration::ZERO));
            }
            Op::Pause => {
                if self.held.is_some() {
                    self.release_held();
                    self.held = None;
                } else {
                    self.held = Some(Vec::new());
                }
            }
            // an opened pane takes the keys, so its arrows scroll it
            Op::Detail => {
                self.detail = !self.detail;
                self.detail_focus = self.detail;
            }
            Op::Help => self.mode = Mode::Help,
            Op::Back => return self.back(),
            Op::Quit => return Action::Quit,
        }
        Action::None
    }

    fn sort_live(&mut self, column: LiveColumn) {
        self.live_sort = Sort::by(column);
        self.live_stale = true;
    }

    fn sort_finished_by(&mut self, column: FinishedColumn) {
        self.finished_sort = Sort::by(column);
        self.finished_stale = Stale::All;
    }

    /// Puts a search in force; one that does not parse leaves the last.
    fn set_search(&mut self, text: String) -> Result<(), String> {
        self.filter = Filter::parse(&text)?;
        self.search = text;
        self.live_stale = true;
        self.finished_stale = Stale::All;
        Ok(())
    }

    /// Esc: closes what is open, innermost first (help and prompts are
    /// handled by their modes), then clears the search; with nothing open
    /// it quits.
    fn back(&mut self) -> Action {
        if self.detail {
            self.detail = false;
            self.detail_focus = false;
        } else if !self.search.is_empty() {
            // the empty search always parses
            self.set_search(String::new()).ok();
        } else {
            return Action::Quit;
        }
        Action::None
    }

    pub fn handle_mouse(&mut self, mouse: MouseEvent, viewport: &Viewport) -> Action {
        if self.mode != Mode::Normal {
            return Action::None;
        }
        let at = Position::new(mouse.column, mouse.row);
        let hit = |area: &Option<TableArea>| {
            area.as_ref()
                .filter(|t| t.header.contains(at) || t.body.contains(at))
                .cloned()
        };
        let (focus, area) = match (hit(&viewport.live), hit(&viewport.finished)) {
            (Some(a), _) => (Focus::Live, a),
            (_, Some(a)) => (Focus::Finished, a),
            _ => return Action::None,
        };
        match mouse.kind {
            MouseEventKind::ScrollUp => self.scroll(focus, -3),
            MouseEventKind::ScrollDown => self.scroll(focus, 3),
            MouseEventKind::Down(MouseButton::Left) => {
                self.focus = focus;
                if area.header.contains(at) {
                    let column = area
                        .columns
                        .iter()
                        .position(|&(x, w)| mouse.column >= x && mouse.column < x + w);
                    if let Some(i) = column {
                        self.click_sort(focus, i);
                    }
                } else {
                    let index = (mouse.row - area.body.y) as usize;
                    match focus {
                        Focus::Live => self.live_view.select_index(self.live_view.offset + index),
                        Focus::Finished => self
                            .finished_view
                            .select_index(self.finished_view.offset + index),
                    }
                }
            }
            _ => {}
        }
        Action::None
    }

    fn scroll(&mut self, focus: Focus, delta: isize) {
        match focus {
            Focus::Live => self.live_view.scroll_by(delta),
            Focus::Finished => self.finished_view.scroll_by(delta),
        }
    }

    /// A click on a column title sorts by it; a second click reverses.
    fn click_sort(&mut self, focus: Focus, index: usize) {
        match focus {
            Focus::Live => {
                let Some(&c) = LiveColumn::ALL.get(index) else {
                    return;
                };
                if self.live_sort.column == c {
                    self.live_sort.descending = !self.live_sort.descending;
                    self.live_stale = true;
                } else {
                    self.sort_live(c);
                }
            }
            Focus::Finished => {
                let Some(&c) = FinishedColumn::ALL.get(index) else {
                    return;
                };
                if self.finished_sort.column == c {
                    self.finished_sort.descending = !self.finished_sort.descending;
                    self.finished_stale = Stale::All;
                } else {
                    self.sort_finished_by(c);
                }
            }
        }
    }
}

fn same_start(p: &ProcessInfo, start: WallTime, start_boot_ns: u64) -> bool {
    (p.start_boot_ns != 0 && p.start_boot_ns == start_boot_ns) || p.start == start
}

/// Same process, not just the same pid: pid reuse must not merge rows.
fn same_process(a: &ProcessInfo, b: &ProcessInfo) -> bool {
    // a replay has no boot-time stamps (0): only the start time tells there
    a.pid == b.pid
        && ((a.start_boot_ns != 0 && a.start_boot_ns == b.start_boot_ns) || a.start == b.start)
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
mod tests_input;
#[cfg(test)]
mod tests_layout;
