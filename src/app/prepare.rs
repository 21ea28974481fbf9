//! Before a frame: each table on screen brings its order up to date (a
//! full sort only when its sort or filter changed; new finished rows are
//! merged in), and the detail pane's scroll is kept in range. Tables not
//! on screen wait, so a hidden view costs frames nothing.

use super::duration_filter::DurationFilter;
use super::table::Stale;
#[cfg(test)]
use super::LiveRow;
use super::{App, CommandColumn, CommandRow, FinishedRow, Selected, ViewId, Viewport};

impl App {
    /// Brings sorting, filtering and scrolling up to date for drawing.
    pub fn prepare(&mut self, viewport: &Viewport) {
        for &id in self.view.screen() {
            let height = viewport.area(id).map_or(1, |t| t.body.height as usize);
            self.tables.get_mut(id).set_height(height);
            match id {
                ViewId::Live => self.prepare_live(),
                ViewId::Finished => self.prepare_finished(),
                ViewId::Commands => self.prepare_commands(),
                ViewId::Tree => self
                    .tables
                    .tree
                    .prepare(&self.store, &self.filter, self.now),
            }
        }
        self.detail_max = (viewport.detail_lines, viewport.detail_height);
        let key = self.selection_key();
        if key != self.detail_for {
            self.detail_for = key;
            self.detail_scroll = 0;
        }
        self.clamp_detail();
    }

    /// A full sort when the sort or search changed or a snapshot replaced
    /// the rows; after events, only the rows they touched are sorted and
    /// merged back in (with 10,000 live rows a full sort took 8 ms a frame).
    fn prepare_live(&mut self) {
        let touched = self.store.take_live_touched();
        let table = &mut self.tables.live;
        let (store, filter) = (&self.store, &self.filter);
        let row = |pid: u32| store.live_row(pid);
        let cmp = |column: super::LiveColumn, a: u32, b: u32| match (row(a), row(b)) {
            (Some(x), Some(y)) => column.compare(x, y),
            _ => a.cmp(&b),
        };
        match (table.stale(), touched) {
            (Stale::No, _) => table.view.scroll(),
            (Stale::Rows, Some(touched)) => {
                let fresh = touched
                    .iter()
                    .filter(|&&pid| row(pid).is_some_and(|r| filter.live(r)))
                    .copied()
                    .collect();
                table.merge(fresh, |pid| !touched.contains(&pid), cmp);
            }
            _ => {
                let keys = store
                    .live_rows()
                    .filter(|r| filter.live(r))
                    .map(|r| r.info.pid)
                    .collect();
                table.resort(keys, cmp);
            }
        }
    }

    fn prepare_finished(&mut self) {
        let store = &self.store;
        let (min, filter) = (self.min_duration, &self.filter);
        let shown =
            |r: &FinishedRow| DurationFilter::shows(min, r.exit.duration_ns) && filter.finished(r);
        let cmp = |column: super::FinishedColumn, a: u64, b: u64| match (
            store.finished_row(a),
            store.finished_row(b),
        ) {
            (Some(x), Some(y)) => column.compare(x, y),
            _ => a.cmp(&b),
        };
        let table = &mut self.tables.finished;
        match table.stale() {
            Stale::No => table.view.scroll(),
            Stale::All | Stale::Rows => {
                let keys = store.finished_rows().filter(|r| shown(r)).map(|r| r.seq);
                table.resort(keys.collect(), cmp);
            }
            Stale::From(first_new) => {
                let fresh = store
                    .finished_rows()
                    .rev()
                    .take_while(|r| r.seq >= first_new)
                    .filter(|r| shown(r))
                    .map(|r| r.seq)
                    .collect();
                let oldest = store.oldest_seq();
                table.merge(fresh, |s| s >= oldest, cmp);
            }
        }
    }

    /// A full sort when the sort or search changed; after a kernel read,
    /// only the rows it changed are sorted and merged back in.
    fn prepare_commands(&mut self) {
        let touched = self.store.commands.take_touched();
        let table = &mut self.tables.commands;
        let (commands, filter, now) = (&self.store.commands, &self.filter, self.now);
        // a command seen finishing before the kernel's totals for it were
        // read has no runs yet: it waits for them (a second at most)
        let shown = |r: &CommandRow| r.totals.runs > 0 && filter.command(r);
        let cmp = |column: CommandColumn, a: u64, b: u64| match (commands.get(a), commands.get(b)) {
            (Some(x), Some(y)) => column.compare(x, y, now),
            _ => a.cmp(&b),
        };
        match table.stale() {
            Stale::All => {
                let keys = commands.rows().filter(|r| shown(r)).map(|r| r.id);
                table.resort(keys.collect(), cmp);
            }
            _ if touched.is_empty() => table.view.scroll(),
            _ => {
                let fresh = touched
                    .iter()
                    .filter_map(|&id| commands.get(id))
                    .filter(|r| shown(r))
                    .map(|r| r.id)
                    .collect();
                table.merge(fresh, |id| !touched.contains(&id), cmp);
            }
        }
    }

    /// How many rows a table will show, for sizing it before `prepare`
    /// brings its order up to date (at most, for the finished table).
    pub fn shown_bound(&self, id: ViewId) -> usize {
        let table = self.tables.get(id);
        match id {
            ViewId::Live if self.tables.live.stale() != Stale::No => self
                .store
                .live_rows()
                .filter(|r| self.filter.live(r))
                .count(),
            ViewId::Finished => match self.tables.finished.stale() {
                Stale::No => table.shown(),
                Stale::From(seq) => table.shown().saturating_add(
                    usize::try_from(self.store.next_seq.saturating_sub(seq)).unwrap_or(usize::MAX),
                ),
                Stale::All | Stale::Rows => self.store.finished_count(),
            },
            ViewId::Commands if self.tables.commands.stale() != Stale::No => {
                self.store.commands.len()
            }
            _ => table.shown(),
        }
    }

    /// The selected row as a key for the detail pane's scroll.
    pub(super) fn selection_key(&self) -> Option<(ViewId, u64)> {
        self.tables
            .get(self.view)
            .selected()
            .map(|k| (self.view, k))
    }

    pub(super) fn detail_page(&self) -> u16 {
        self.detail_max.1.saturating_sub(1).max(1)
    }

    pub(super) fn clamp_detail(&mut self) {
        let (lines, height) = self.detail_max;
        self.detail_scroll = self.detail_scroll.min(lines.saturating_sub(height));
    }

    pub fn selected(&self) -> Option<Selected<'_>> {
        let key = self.tables.get(self.view).selected()?;
        match self.view {
            ViewId::Live => {
                let pid = u32::try_from(key).ok()?;
                self.store.live_row(pid).map(Selected::Live)
            }
            ViewId::Finished => self.store.finished_row(key).map(Selected::Finished),
            ViewId::Commands => self.store.commands.get(key).map(Selected::Command),
            ViewId::Tree => match self.tables.tree.selected_proc()? {
                super::Proc::Live(pid) => self.store.live_row(pid).map(Selected::Live),
                super::Proc::Finished(seq) => self.store.finished_row(seq).map(Selected::Finished),
            },
        }
    }
}

/// Rows as the views see them, for tests of the order.
#[cfg(test)]
impl App {
    pub fn live_order(&self) -> Vec<&LiveRow> {
        let rows = self.tables.live.view.order.iter();
        rows.filter_map(|&p| self.store.live_row(p)).collect()
    }

    pub fn command_order(&self) -> Vec<&CommandRow> {
        let rows = self.tables.commands.view.order.iter();
        rows.filter_map(|&id| self.store.commands.get(id)).collect()
    }
}
