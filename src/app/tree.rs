//! The tree view: the forest (see `forest`) laid out as lines, with what
//! is expanded, the selection and the scroll. It is a table view like the
//! others (the generic drawer draws it, `TableOps` moves in it); what it
//! adds is expansion and lines whose order is the tree's.
//!
//! Lines are identified by stable ids, hashed to the table's key: a
//! process by pid and start time, a group by its parent's id and the
//! command name. Expansion is kept by that id, so the tree does not
//! change shape as events arrive, and the selection follows its line when
//! lines are added above it. The forest is rebuilt only when the store
//! changed; expanding, collapsing or searching only lays it out again.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use super::filter::Filter;
use super::forest::{row, Entry, Forest, Proc, RowRef};
use super::store::Store;
use super::table::{Stale, Table, TableOps};
use super::tree_columns::TreeColumn;
use super::Column;
use crate::event::WallTime;

/// Lines deeper than this are not listed (their ancestor shows `…`): a
/// chain of pid reuse or a fork bomb must not build a line per level.
pub const MAX_DEPTH: u16 = 64;

/// A forest this big is built again at most once a second of the App's
/// time: under an exec storm with a full finished list (100,000 rows) a
/// build every frame would take the frames; a tree a second behind is
/// still the tree. Smaller ones are built again at every change.
pub const BIG_FOREST: usize = 20_000;
const BIG_FOREST_EVERY_NS: u64 = 1_000_000_000;

/// One line of the tree as laid out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeLine {
    pub entry: Entry,
    pub key: u64,
    pub depth: u16,
    /// bit d: the line's ancestor at depth d (or the line itself, at its
    /// own depth) is the last of its siblings, so no `│` runs past it
    pub last: u64,
    /// it has children (or members) to show
    pub expandable: bool,
    pub expanded: bool,
    /// its children are past `MAX_DEPTH`
    pub too_deep: bool,
    /// the index of its parent's line
    pub parent: Option<usize>,
}

impl TreeLine {
    /// The glyphs before the name: `│ ├─▾ `. Each level is two cells, so
    /// the expander of a line at depth d is at cells 2d..2d+2.
    pub fn prefix(&self) -> String {
        let mut s = String::with_capacity(usize::from(self.depth) * 6 + 4);
        for d in 1..self.depth {
            s.push_str(if self.last & bit(d) != 0 {
                "  "
            } else {
                "│ "
            });
        }
        if self.depth > 0 {
            let own = self.last & bit(self.depth) != 0;
            s.push_str(if own { "└─" } else { "├─" });
        }
        s.push_str(match (self.expandable, self.expanded, self.too_deep) {
            (_, _, true) => "… ",
            (true, true, _) => "▾ ",
            (true, false, _) => "▸ ",
            (false, _, _) if self.depth > 0 => "─ ",
            (false, _, _) => "  ",
        });
        s
    }

    /// Cells taken by the glyphs and the expander.
    pub fn prefix_width(&self) -> u16 {
        self.depth.saturating_mul(2).saturating_add(2)
    }
}

pub struct TreeTable {
    pub table: Table<TreeColumn>,
    pub forest: Forest,
    forest_stale: bool,
    /// the expansion a person chose, by line key; others take the default
    /// (processes expanded, groups collapsed)
    chosen: HashMap<u64, bool>,
    /// the lines in display order, as `table.view.order`
    pub lines: Vec<TreeLine>,
    index: HashMap<u64, usize>,
    /// forest builds so far: frames with nothing new must not cause them
    pub builds: u64,
    /// when the forest was last built
    built_at: WallTime,
}

impl Default for TreeTable {
    fn default() -> Self {
        Self {
            // siblings in the order they were spawned
            table: Table::new(TreeColumn::Start),
            forest: Forest::default(),
            forest_stale: true,
            chosen: HashMap::new(),
            lines: Vec::new(),
            index: HashMap::new(),
            builds: 0,
            built_at: WallTime::default(),
        }
    }
}

fn hash(value: impl Hash) -> u64 {
    // fixed keys: the same id hashes the same in every build
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

/// A line's stable id, hashed: a process by pid and start time, a group by
/// its parent process and command name.
pub fn line_key(forest: &Forest, entry: Entry) -> u64 {
    let process = |i: u32| {
        let n = &forest.nodes[i as usize];
        (n.pid, n.start.0)
    };
    match entry {
        Entry::Node(i) => hash((0u8, process(i))),
        Entry::Group(g) => {
            let group = &forest.groups[g as usize];
            let parent = group.parent.map_or((0, 0), process);
            hash((1u8, parent, group.name.as_str()))
        }
    }
}

impl TreeTable {
    /// The store changed: the forest must be built again.
    pub fn store_changed(&mut self) {
        self.forest_stale = true;
        self.table.invalidate();
    }

    /// Brings the forest and its lines up to date for a frame.
    pub fn prepare(&mut self, store: &Store, filter: &Filter, now: WallTime) {
        let big = self.forest.nodes.len() >= BIG_FOREST;
        let due = !big || now.0 >= self.built_at.0.saturating_add(BIG_FOREST_EVERY_NS);
        if self.forest_stale && due {
            self.forest = Forest::build(store, now);
            self.forest_stale = false;
            self.builds += 1;
            self.built_at = now;
            self.table.invalidate();
        }
        if self.table.stale() == Stale::No {
            return self.table.view.scroll();
        }
        self.forest.sort(store, self.table.sort);
        self.lay_out(store, filter);
    }

    /// Lays the forest out as lines: expanded entries show their
    /// children; under a search, only matches and their ancestors show,
    /// and groups open unless closed by hand.
    fn lay_out(&mut self, store: &Store, filter: &Filter) {
        let forest = &self.forest;
        let searching = !filter.is_empty();
        let shown = searching.then(|| matches(forest, store, filter));
        let visible = |e: &Entry| match (&shown, e) {
            (None, _) => true,
            (Some(m), Entry::Node(i)) => m[*i as usize],
            (Some(m), Entry::Group(g)) => forest.groups[*g as usize]
                .members
                .iter()
                .any(|&i| m[i as usize]),
        };
        let children = |e: Entry| -> Vec<Entry> {
            match e {
                Entry::Node(i) => forest
                    .children(i)
                    .iter()
                    .copied()
                    .filter(|c| visible(c))
                    .collect(),
                Entry::Group(g) => forest.groups[g as usize]
                    .members
                    .iter()
                    .map(|&i| Entry::Node(i))
                    .filter(|c| visible(c))
                    .collect(),
            }
        };
        let mut lines = Vec::new();
        // (entry, depth, last bits, parent line), popped in display order
        let mut stack: Vec<(Entry, u16, u64, Option<usize>)> = Vec::new();
        let roots: Vec<Entry> = forest.roots().iter().copied().filter(visible).collect();
        push_siblings(&mut stack, &roots, 0, 0, None);
        while let Some((entry, depth, last, parent)) = stack.pop() {
            let key = line_key(forest, entry);
            let kids = children(entry);
            let default = matches!(entry, Entry::Node(_)) || searching;
            let expanded = !kids.is_empty() && *self.chosen.get(&key).unwrap_or(&default);
            let too_deep = !kids.is_empty() && depth >= MAX_DEPTH;
            lines.push(TreeLine {
                entry,
                key,
                depth,
                last,
                expandable: !kids.is_empty() && !too_deep,
                expanded: expanded && !too_deep,
                too_deep,
                parent,
            });
            if expanded && !too_deep {
                let here = lines.len() - 1;
                push_siblings(&mut stack, &kids, depth + 1, last, Some(here));
            }
        }
        self.index = lines.iter().enumerate().map(|(i, l)| (l.key, i)).collect();
        let order = lines.iter().map(|l| l.key).collect();
        self.lines = lines;
        self.follow_into_fold();
        self.table.set_order_keeping(order);
    }

    /// When the selected process has no line any more because it went
    /// into a closed line (a third sibling of its name made a group, or
    /// an ancestor was closed), the selection moves to that line instead
    /// of to whatever took its place.
    fn follow_into_fold(&mut self) {
        let Some(key) = self.table.view.selected_key() else {
            return;
        };
        if self.index.contains_key(&key) {
            return;
        }
        let forest = &self.forest;
        let Some(mut node) =
            (0..forest.nodes.len() as u32).find(|&i| line_key(forest, Entry::Node(i)) == key)
        else {
            return;
        };
        // the node's group, else its parent, up to the first on a line
        for _ in 0..=MAX_DEPTH {
            let parent = forest.nodes[node as usize].parent;
            let group = forest
                .groups
                .iter()
                .position(|g| g.parent == parent && g.members.contains(&node));
            let candidates = group
                .map(|g| Entry::Group(g as u32))
                .into_iter()
                .chain(parent.map(Entry::Node));
            for e in candidates {
                let k = line_key(forest, e);
                if self.index.contains_key(&k) {
                    self.table.view.selected = Some(k);
                    return;
                }
            }
            match parent {
                Some(p) => node = p,
                None => return,
            }
        }
    }

    pub fn line(&self, key: u64) -> Option<&TreeLine> {
        self.lines.get(*self.index.get(&key)?)
    }

    fn cursor_line(&self) -> Option<&TreeLine> {
        self.line(self.table.view.selected_key()?)
    }

    /// The process on the selected line (none on a group's line).
    pub fn selected_proc(&self) -> Option<Proc> {
        match self.cursor_line()?.entry {
            Entry::Node(i) => self.forest.nodes.get(i as usize).map(|n| n.proc),
            Entry::Group(_) => None,
        }
    }

    fn set_expanded(&mut self, key: u64, open: bool) {
        self.chosen.insert(key, open);
        self.table.invalidate();
    }
}

/// The `last` bit of a depth (none past 63: those lines are not drawn).
fn bit(depth: u16) -> u64 {
    1u64.checked_shl(u32::from(depth)).unwrap_or(0)
}

/// Pushes siblings so that the first pops first; the last one's bit is set.
fn push_siblings(
    stack: &mut Vec<(Entry, u16, u64, Option<usize>)>,
    siblings: &[Entry],
    depth: u16,
    last: u64,
    parent: Option<usize>,
) {
    let bit = bit(depth);
    for (i, &e) in siblings.iter().enumerate().rev() {
        let is_last = i + 1 == siblings.len();
        let bits = if is_last { last | bit } else { last & !bit };
        stack.push((e, depth, bits, parent));
    }
}

/// Which nodes a search shows: the matches and their ancestors.
fn matches(forest: &Forest, store: &Store, filter: &Filter) -> Vec<bool> {
    let mut shown: Vec<bool> = forest
        .nodes
        .iter()
        .map(|n| match row(store, n.proc) {
            Some(RowRef::Live(r)) => filter.live(r),
            Some(RowRef::Finished(r)) => filter.finished(r),
            None => false,
        })
        .collect();
    for &i in forest.top_down.iter().rev() {
        if shown[i as usize] {
            if let Some(p) = forest.nodes[i as usize].parent {
                shown[p as usize] = true;
            }
        }
    }
    shown
}

impl TableOps for TreeTable {
    fn move_by(&mut self, delta: isize) {
        self.table.move_by(delta);
    }
    fn page(&mut self, pages: isize) {
        self.table.page(pages);
    }
    fn home(&mut self) {
        self.table.home();
    }
    fn end(&mut self) {
        self.table.end();
    }
    fn select_index(&mut self, index: usize) {
        self.table.select_index(index);
    }
    fn offset(&self) -> usize {
        self.table.offset()
    }
    fn set_height(&mut self, height: usize) {
        self.table.set_height(height);
    }
    fn sort_next(&mut self) {
        self.table.sort_next();
    }
    fn sort_prev(&mut self) {
        self.table.sort_prev();
    }
    fn reverse(&mut self) {
        self.table.reverse();
    }
    fn click(&mut self, index: usize) {
        self.table.click(index);
    }
    fn selected(&self) -> Option<u64> {
        self.table.selected()
    }
    fn shown(&self) -> usize {
        self.table.shown()
    }
    fn invalidate(&mut self) {
        self.table.invalidate();
    }

    /// → opens the line, or steps into an open one; ← closes it, or
    /// steps out to its parent.
    fn expand(&mut self, open: bool) {
        let Some(line) = self.cursor_line() else {
            return;
        };
        let (key, parent) = (line.key, line.parent);
        match (open, line.expandable, line.expanded) {
            (true, true, false) => self.set_expanded(key, true),
            (true, true, true) => self.table.move_by(1),
            (false, true, true) => self.set_expanded(key, false),
            (false, _, _) => {
                if let Some(p) = parent {
                    self.table.select_index(p);
                }
            }
            (true, false, _) => {}
        }
    }

    /// A click selects the line; on its glyphs, it also opens or closes it.
    fn click_row(&mut self, index: usize, column: usize, dx: u16) {
        self.table.select_index(index);
        let on_command = TreeColumn::ALL.get(column) == Some(&TreeColumn::Command);
        let Some(line) = self.lines.get(index) else {
            return;
        };
        if on_command && line.expandable && dx < line.prefix_width() {
            let (key, expanded) = (line.key, line.expanded);
            self.set_expanded(key, !expanded);
        }
    }
}
