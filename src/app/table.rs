//! One table view, generic over its column set: the sort, the view (order,
//! selection, scroll) and how much of the order is out of date. Live,
//! Finished and Commands are three of these; the App reaches the one in
//! focus through `ViewId`, never by matching on which it is.

use std::cmp::Ordering;

use super::columns::{Column, FinishedColumn, LiveColumn, Sort};
use super::command_columns::CommandColumn;
use super::tree::TreeTable;
use super::view::View;

/// The views.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ViewId {
    Live,
    Finished,
    Commands,
    /// live and finished processes as one forest, reached with `t`
    Tree,
}

impl ViewId {
    pub const ALL: [ViewId; 4] = [
        ViewId::Live,
        ViewId::Finished,
        ViewId::Commands,
        ViewId::Tree,
    ];
    /// The order Tab visits them in; the tree has its own key and screen.
    const TAB: [ViewId; 3] = [ViewId::Live, ViewId::Finished, ViewId::Commands];

    /// The next view Tab goes to; the tree stays (Tab moves to its pane).
    pub fn next(self) -> Self {
        match Self::TAB.iter().position(|&v| v == self) {
            Some(i) => Self::TAB[(i + 1) % Self::TAB.len()],
            None => self,
        }
    }

    /// Live and Finished share the screen; Commands and Tree have it alone.
    pub fn screen(self) -> &'static [ViewId] {
        match self {
            ViewId::Live | ViewId::Finished => &[ViewId::Live, ViewId::Finished],
            ViewId::Commands => &[ViewId::Commands],
            ViewId::Tree => &[ViewId::Tree],
        }
    }
}

/// How the order must be brought up to date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stale {
    No,
    /// rows from this seq on are new (the finished list only grows)
    From(u64),
    /// some rows were added, changed or removed: the store lists which
    Rows,
    All,
}

pub struct Table<C: Column> {
    pub sort: Sort<C>,
    pub view: View<C::Key>,
    stale: Stale,
    /// full sorts so far: frames with nothing new must not cause them
    pub full_sorts: u64,
}

impl<C: Column> Table<C> {
    pub fn new(column: C) -> Self {
        Self {
            sort: Sort::by(column),
            view: View::default(),
            stale: Stale::All,
            full_sorts: 0,
        }
    }

    pub fn stale(&self) -> Stale {
        self.stale
    }

    /// Everything must be sorted again (a new sort, search or filter).
    pub fn invalidate(&mut self) {
        self.stale = Stale::All;
    }

    /// Some rows changed (the store knows which): they alone are sorted
    /// and merged back in.
    pub fn touched(&mut self) {
        if self.stale == Stale::No {
            self.stale = Stale::Rows;
        }
    }

    /// Rows from `seq` on are new.
    pub fn grew_from(&mut self, seq: u64) {
        if self.stale == Stale::No {
            self.stale = Stale::From(seq);
        }
    }

    /// A full sort of the keys the table shows.
    pub fn resort(&mut self, mut keys: Vec<C::Key>, cmp: impl Fn(C, C::Key, C::Key) -> Ordering) {
        let sort = self.sort;
        keys.sort_unstable_by(|&a, &b| sort.apply(cmp(sort.column, a, b)));
        self.full_sorts += 1;
        self.view.set_order(keys);
        self.stale = Stale::No;
    }

    /// Sorts only the new keys and merges them into the kept order, from
    /// which `keep` drops the keys that went away.
    pub fn merge(
        &mut self,
        mut fresh: Vec<C::Key>,
        keep: impl Fn(C::Key) -> bool,
        cmp: impl Fn(C, C::Key, C::Key) -> Ordering,
    ) {
        let sort = self.sort;
        let cmp = |a: C::Key, b: C::Key| sort.apply(cmp(sort.column, a, b));
        fresh.sort_unstable_by(|&a, &b| cmp(a, b));
        let mut old = std::mem::take(&mut self.view.order);
        old.retain(|&k| keep(k));
        let mut out = Vec::with_capacity(old.len() + fresh.len());
        let (mut i, mut j) = (0, 0);
        while i < old.len() && j < fresh.len() {
            if cmp(old[i], fresh[j]).is_le() {
                out.push(old[i]);
                i += 1;
            } else {
                out.push(fresh[j]);
                j += 1;
            }
        }
        out.extend_from_slice(&old[i..]);
        out.extend_from_slice(&fresh[j..]);
        self.view.set_order(out);
        self.stale = Stale::No;
    }

    /// A new order made elsewhere (the tree's lines): the selection
    /// stays on its key and on its screen row, wherever the key moved.
    pub fn set_order_keeping(&mut self, keys: Vec<C::Key>) {
        self.view.set_order_keeping(keys);
        self.stale = Stale::No;
    }

    pub fn sort_by(&mut self, column: C) {
        self.sort = Sort::by(column);
        self.invalidate();
    }
}

/// What the App does to whichever table is in focus.
pub trait TableOps {
    fn move_by(&mut self, delta: isize);
    fn page(&mut self, pages: isize);
    fn home(&mut self);
    fn end(&mut self);
    fn select_index(&mut self, index: usize);
    fn offset(&self) -> usize;
    fn set_height(&mut self, height: usize);
    fn sort_next(&mut self);
    fn sort_prev(&mut self);
    fn reverse(&mut self);
    /// A click on the `index`th column title: sort by it, or reverse.
    fn click(&mut self, index: usize);
    /// The selected row's key, widened.
    fn selected(&self) -> Option<u64>;
    /// Rows in the current order, for sizing before `prepare`.
    fn shown(&self) -> usize;
    fn invalidate(&mut self);
    /// ← → on the selected row: only a tree has rows to open and close.
    fn expand(&mut self, _open: bool) {}
    /// A click on the `index`th row, `dx` cells into its `column`th column.
    fn click_row(&mut self, index: usize, _column: usize, _dx: u16) {
        self.select_index(index);
    }
}

impl<C: Column> TableOps for Table<C> {
    fn move_by(&mut self, delta: isize) {
        self.view.move_by(delta);
    }
    fn page(&mut self, pages: isize) {
        self.view.page(pages);
    }
    fn home(&mut self) {
        self.view.home();
    }
    fn end(&mut self) {
        self.view.end();
    }
    fn select_index(&mut self, index: usize) {
        self.view.select_index(index);
    }
    fn offset(&self) -> usize {
        self.view.offset
    }
    fn set_height(&mut self, height: usize) {
        self.view.height = height;
    }
    fn sort_next(&mut self) {
        self.sort_by(self.sort.column.next());
    }
    fn sort_prev(&mut self) {
        self.sort_by(self.sort.column.prev());
    }
    fn reverse(&mut self) {
        self.sort.descending = !self.sort.descending;
        self.invalidate();
    }
    fn click(&mut self, index: usize) {
        let Some(&c) = C::ALL.get(index) else {
            return;
        };
        if self.sort.column == c {
            self.reverse();
        } else {
            self.sort_by(c);
        }
    }
    fn selected(&self) -> Option<u64> {
        self.view.selected_key().map(Into::into)
    }
    fn shown(&self) -> usize {
        self.view.order.len()
    }
    fn invalidate(&mut self) {
        Table::invalidate(self);
    }
}

/// Every table view, reached by id.
pub struct Tables {
    pub live: Table<LiveColumn>,
    pub finished: Table<FinishedColumn>,
    pub commands: Table<CommandColumn>,
    pub tree: TreeTable,
}

impl Default for Tables {
    fn default() -> Self {
        Self {
            live: Table::new(LiveColumn::Pid),
            finished: Table::new(FinishedColumn::End),
            // where the CPU goes: the biggest first
            commands: Table::new(CommandColumn::Cpu),
            tree: TreeTable::default(),
        }
    }
}

impl Tables {
    pub fn get(&self, id: ViewId) -> &dyn TableOps {
        match id {
            ViewId::Live => &self.live,
            ViewId::Finished => &self.finished,
            ViewId::Commands => &self.commands,
            ViewId::Tree => &self.tree,
        }
    }

    pub fn get_mut(&mut self, id: ViewId) -> &mut dyn TableOps {
        match id {
            ViewId::Live => &mut self.live,
            ViewId::Finished => &mut self.finished,
            ViewId::Commands => &mut self.commands,
            ViewId::Tree => &mut self.tree,
        }
    }
}
