//! The process forest the tree view draws: every live and finished
//! process of the store, each under the parent it was born to, with
//! sibling runs of one command gathered into groups and subtree totals
//! added up. Built from the store in one pass of sorts and index lookups
//! (no recursion), only when the store changed.
//!
//! The decision behind the shape: one forest of live and finished
//! processes together, because "what did this script spawn?" needs both.
//! A process hangs under `born_of`, not under its current ppid, so the
//! orphans of a finished parent stay where they were born instead of
//! moving to init or a subreaper. A process whose birth parent is not in
//! the store (pid 1, a process from before tracing, an evicted row) is a
//! root.

use std::cmp::Ordering;

use super::rows::{FinishedRow, LiveRow};
use super::store::Store;
use super::tree_columns::TreeColumn;
use super::Sort;
use crate::event::WallTime;

/// Siblings with one command name are gathered on one line from this
/// many on: two runs still read fine as two lines, three are a pattern
/// (a build's compiler runs, a loop's `true`s).
pub const GROUP_MIN: usize = 3;

/// Which store row a node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proc {
    Live(u32),
    Finished(u64),
}

/// What a subtree (or a group's members with theirs) adds up to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub procs: u32,
    pub failed: u32,
    pub running: u32,
    /// finished processes' CPU time; live ones have none yet
    pub cpu_ns: u64,
    /// whether any finished process in it reported its usage
    pub cpu_known: bool,
}

impl Totals {
    fn add(&mut self, other: &Totals) {
        self.procs += other.procs;
        self.failed += other.failed;
        self.running += other.running;
        self.cpu_ns += other.cpu_ns;
        self.cpu_known |= other.cpu_known;
    }
}

#[derive(Clone, Debug)]
pub struct Node {
    pub proc: Proc,
    pub pid: u32,
    pub start: WallTime,
    /// this process's own duration (or age, for a live one, at the build)
    pub duration_ns: u64,
    /// index of the birth parent's node
    pub parent: Option<u32>,
    /// children and groups of children, in the sort's order: a range of
    /// `Forest::entries` (one buffer, not a list per node)
    children: (u32, u32),
    /// this node and everything under it
    pub totals: Totals,
}

/// Sibling runs of one command under one parent.
#[derive(Clone, Debug)]
pub struct Group {
    pub name: String,
    pub parent: Option<u32>,
    /// member nodes, in the sort's order
    pub members: Vec<u32>,
    /// every member and what is under it
    pub totals: Totals,
    /// the longest member's own duration
    pub longest_ns: u64,
    /// the earliest member's start and pid
    pub first: (WallTime, u32),
}

/// One line's worth of the forest: a process or a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    Node(u32),
    Group(u32),
}

#[derive(Clone, Debug, Default)]
pub struct Forest {
    pub nodes: Vec<Node>,
    pub groups: Vec<Group>,
    /// the roots' range of `entries`
    roots: (u32, u32),
    /// every sibling list, one after another
    entries: Vec<Entry>,
    /// every node, parents before children: reversed, it adds up totals
    pub top_down: Vec<u32>,
    /// the sort the sibling lists are in
    pub sorted_by: Option<Sort<TreeColumn>>,
    /// parent links cut because they made a cycle (pid reuse)
    pub cycles_cut: u32,
}

/// A node's store row, for sorting, searching and drawing.
pub enum RowRef<'a> {
    Live(&'a LiveRow),
    Finished(&'a FinishedRow),
}

impl<'a> RowRef<'a> {
    pub fn command(&self) -> &'a str {
        match self {
            RowRef::Live(r) => &r.command,
            RowRef::Finished(r) => &r.command,
        }
    }
}

pub fn row(store: &Store, proc: Proc) -> Option<RowRef<'_>> {
    match proc {
        Proc::Live(pid) => store.live_row(pid).map(RowRef::Live),
        Proc::Finished(seq) => store.finished_row(seq).map(RowRef::Finished),
    }
}

impl Forest {
    /// Builds the forest of everything in the store at `now`.
    pub fn build(store: &Store, now: WallTime) -> Forest {
        let capacity = store.live_count() + store.finished_count();
        let mut nodes: Vec<Node> = Vec::with_capacity(capacity);
        // each node's birth parent's pid and command name, for the build only
        let mut born: Vec<u32> = Vec::with_capacity(capacity);
        let mut comms: Vec<&str> = Vec::with_capacity(capacity);
        for r in store.finished_rows() {
            let p = &r.exit.process;
            let cpu = r.exit.usage.map(|u| u.cpu_ns());
            nodes.push(Node {
                proc: Proc::Finished(r.seq),
                pid: p.pid,
                start: p.start,
                duration_ns: r.exit.duration_ns,
                parent: None,
                children: (0, 0),
                totals: Totals {
                    procs: 1,
                    failed: u32::from(r.exit.status.failed()),
                    running: 0,
                    cpu_ns: cpu.unwrap_or(0),
                    cpu_known: cpu.is_some(),
                },
            });
            born.push(r.born_of);
            comms.push(&p.comm);
        }
        let finished = nodes.len();
        for r in store.live_rows() {
            nodes.push(Node {
                proc: Proc::Live(r.info.pid),
                pid: r.info.pid,
                start: r.info.start,
                duration_ns: now.0.saturating_sub(r.info.start.0),
                parent: None,
                children: (0, 0),
                totals: Totals {
                    procs: 1,
                    running: 1,
                    ..Totals::default()
                },
            });
            born.push(r.born_of);
            comms.push(&r.info.comm);
        }
        // (pid, start, live, node), sorted: a child's parent is the newest
        // process with its birth parent's pid that started no later than it
        let mut by_pid: Vec<(u32, u64, bool, u32)> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.pid, n.start.0, i >= finished, i as u32))
            .collect();
        by_pid.sort_unstable();
        // the same process live and finished (an exit racing a snapshot):
        // the finished row, which sorts first, tells more
        let mut dropped = vec![false; nodes.len()];
        for w in by_pid.windows(2) {
            if (w[0].0, w[0].1) == (w[1].0, w[1].1) && w[1].2 {
                dropped[w[1].3 as usize] = true;
            }
        }
        let end = |j: usize| {
            if j < finished {
                nodes[j].start.0.saturating_add(nodes[j].duration_ns)
            } else {
                u64::MAX
            }
        };
        let mut parents: Vec<Option<u32>> = vec![None; nodes.len()];
        for (i, slot) in parents.iter_mut().enumerate() {
            let (pid, start, parent_pid) = (nodes[i].pid, nodes[i].start.0, born[i]);
            if dropped[i] || parent_pid == 0 || parent_pid == pid {
                continue;
            }
            let upper = by_pid.partition_point(|&(p, s, _, _)| (p, s) <= (parent_pid, start));
            let candidate = by_pid[..upper]
                .iter()
                .rev()
                .take_while(|c| c.0 == parent_pid)
                .find(|c| !dropped[c.3 as usize] && c.3 as usize != i);
            // a process with that pid that ended before the child began is
            // an earlier user of the pid, not the parent
            *slot = candidate
                .filter(|c| end(c.3 as usize) >= start)
                .map(|c| c.3);
        }
        for (n, p) in nodes.iter_mut().zip(parents) {
            n.parent = p;
        }
        let cycles_cut = cut_cycles(&mut nodes, &dropped);
        // children lists in one buffer: `kids[first[i]..first[i + 1]]`
        let mut first = vec![0u32; nodes.len() + 1];
        let mut roots = Vec::new();
        for (i, n) in nodes.iter().enumerate() {
            match n.parent {
                _ if dropped[i] => {}
                Some(p) => first[p as usize + 1] += 1,
                None => roots.push(i as u32),
            }
        }
        for i in 0..nodes.len() {
            first[i + 1] += first[i];
        }
        let mut fill = first.clone();
        let mut kids = vec![0u32; first[nodes.len()] as usize];
        for (i, n) in nodes.iter().enumerate() {
            if let (Some(p), false) = (n.parent, dropped[i]) {
                kids[fill[p as usize] as usize] = i as u32;
                fill[p as usize] += 1;
            }
        }
        let children = |i: usize| &kids[first[i] as usize..first[i + 1] as usize];
        // parents before children, breadth first from the roots
        let mut top_down = roots.clone();
        let mut at = 0;
        while at < top_down.len() {
            top_down.extend_from_slice(children(top_down[at] as usize));
            at += 1;
        }
        for &i in top_down.iter().rev() {
            if let Some(p) = nodes[i as usize].parent {
                let t = nodes[i as usize].totals;
                nodes[p as usize].totals.add(&t);
            }
        }
        let mut forest = Forest {
            nodes,
            top_down,
            cycles_cut,
            ..Forest::default()
        };
        let mut scratch = Vec::new();
        forest.entries.reserve(forest.nodes.len());
        forest.roots = forest.gather(&comms, None, &roots, &mut scratch);
        for i in 0..forest.nodes.len() {
            let list = children(i);
            if !list.is_empty() {
                forest.nodes[i].children =
                    forest.gather(&comms, Some(i as u32), list, &mut scratch);
            }
        }
        forest
    }

    /// A sibling list as entries, appended to `entries`: runs of one
    /// command, `GROUP_MIN` or more, become a group, in the place of its
    /// first member. Returns the list's range.
    fn gather<'s>(
        &mut self,
        comms: &[&'s str],
        parent: Option<u32>,
        list: &[u32],
        by_name: &mut Vec<(&'s str, u32)>,
    ) -> (u32, u32) {
        let start = self.entries.len();
        self.entries.extend(list.iter().map(|&i| Entry::Node(i)));
        let range = |entries: &Vec<Entry>| (start as u32, entries.len() as u32);
        if list.len() < GROUP_MIN {
            return range(&self.entries);
        }
        // siblings by name (in list order within a name): runs are groups
        by_name.clear();
        by_name.extend(
            list.iter()
                .enumerate()
                .map(|(at, &i)| (comms[i as usize], at as u32)),
        );
        by_name.sort_unstable();
        const MERGED: Entry = Entry::Group(u32::MAX);
        let mut grouped = false;
        for run in by_name.chunk_by(|a, b| a.0 == b.0) {
            if run.len() < GROUP_MIN {
                continue;
            }
            let g = self.groups.len() as u32;
            let mut group = Group {
                name: run[0].0.to_string(),
                parent,
                members: Vec::with_capacity(run.len()),
                totals: Totals::default(),
                longest_ns: 0,
                first: (WallTime(u64::MAX), u32::MAX),
            };
            for (n, &(_, at)) in run.iter().enumerate() {
                let i = list[at as usize];
                let node = &self.nodes[i as usize];
                group.members.push(i);
                group.totals.add(&node.totals);
                group.longest_ns = group.longest_ns.max(node.duration_ns);
                group.first = group.first.min((node.start, node.pid));
                // the group stands where its first member stood
                self.entries[start + at as usize] = if n == 0 { Entry::Group(g) } else { MERGED };
            }
            self.groups.push(group);
            grouped = true;
        }
        if grouped {
            let mut kept = start;
            for at in start..self.entries.len() {
                if self.entries[at] != MERGED {
                    self.entries[kept] = self.entries[at];
                    kept += 1;
                }
            }
            self.entries.truncate(kept);
        }
        range(&self.entries)
    }

    /// A node's children and groups of children, in the sort's order.
    pub fn children(&self, node: u32) -> &[Entry] {
        let (a, b) = self.nodes[node as usize].children;
        &self.entries[a as usize..b as usize]
    }

    pub fn roots(&self) -> &[Entry] {
        &self.entries[self.roots.0 as usize..self.roots.1 as usize]
    }

    /// Puts every sibling list (and group) in the sort's order; the start
    /// time and pid break ties, so lines do not jitter.
    pub fn sort(&mut self, store: &Store, sort: Sort<TreeColumn>) {
        if self.sorted_by == Some(sort) {
            return;
        }
        // the lists are taken out while sorting: the comparison reads only
        // the nodes' and groups' own figures
        let mut entries = std::mem::take(&mut self.entries);
        let mut members: Vec<Vec<u32>> = self
            .groups
            .iter_mut()
            .map(|g| std::mem::take(&mut g.members))
            .collect();
        let cmp = |a: &Entry, b: &Entry| sort.apply(self.compare(store, sort.column, *a, *b));
        let ranges = std::iter::once(self.roots).chain(self.nodes.iter().map(|n| n.children));
        for (a, b) in ranges.filter(|(a, b)| b - a > 1) {
            entries[a as usize..b as usize].sort_by(cmp);
        }
        for list in &mut members {
            list.sort_by(|&a, &b| cmp(&Entry::Node(a), &Entry::Node(b)));
        }
        self.entries = entries;
        for (g, list) in self.groups.iter_mut().zip(members) {
            g.members = list;
        }
        self.sorted_by = Some(sort);
    }

    /// What stands for an entry in sorting: a node's start and pid, or a
    /// group's earliest member's.
    fn first(&self, e: Entry) -> (WallTime, u32) {
        match e {
            Entry::Node(i) => {
                let n = &self.nodes[i as usize];
                (n.start, n.pid)
            }
            Entry::Group(g) => self.groups[g as usize].first,
        }
    }

    pub fn totals(&self, e: Entry) -> Totals {
        match e {
            Entry::Node(i) => self.nodes[i as usize].totals,
            Entry::Group(g) => self.groups[g as usize].totals,
        }
    }

    fn compare(&self, store: &Store, column: TreeColumn, a: Entry, b: Entry) -> Ordering {
        let (x, y) = (self.first(a), self.first(b));
        let (ta, tb) = (self.totals(a), self.totals(b));
        let duration = |e: Entry| match e {
            Entry::Node(i) => self.nodes[i as usize].duration_ns,
            Entry::Group(g) => self.groups[g as usize].longest_ns,
        };
        let exit = |e: Entry| match e {
            Entry::Node(i) => match row(store, self.nodes[i as usize].proc) {
                Some(RowRef::Finished(r)) => (u8::from(r.exit.status.failed()), r.exit.status.0),
                _ => (0, 0),
            },
            Entry::Group(_) => (0, 0),
        };
        let name = |e: Entry| match e {
            Entry::Node(i) => row(store, self.nodes[i as usize].proc).map_or("", |r| r.command()),
            Entry::Group(g) => &self.groups[g as usize].name,
        };
        let primary = match column {
            TreeColumn::Start => Ordering::Equal,
            TreeColumn::Pid => x.1.cmp(&y.1),
            TreeColumn::Procs => ta.procs.cmp(&tb.procs),
            TreeColumn::Failed => ta.failed.cmp(&tb.failed),
            TreeColumn::Cpu => ta.cpu_ns.cmp(&tb.cpu_ns),
            TreeColumn::Duration => duration(a).cmp(&duration(b)),
            TreeColumn::Exit => exit(a).cmp(&exit(b)),
            TreeColumn::Command => name(a).cmp(name(b)),
        };
        primary
            .then(x.cmp(&y))
            // a group and its own first member never meet as siblings
            .then(matches!(a, Entry::Group(_)).cmp(&matches!(b, Entry::Group(_))))
    }
}

/// Cuts the parent link that closes each cycle (pid reuse can make one),
/// in one pass: each chain is walked up once, marking nodes on the path.
fn cut_cycles(nodes: &mut [Node], dropped: &[bool]) -> u32 {
    const NEW: u8 = 0;
    const ON_PATH: u8 = 1;
    const DONE: u8 = 2;
    let mut state = vec![NEW; nodes.len()];
    let mut path = Vec::new();
    let mut cut = 0;
    for start in 0..nodes.len() {
        if dropped[start] || state[start] != NEW {
            continue;
        }
        let mut at = start as u32;
        loop {
            state[at as usize] = ON_PATH;
            path.push(at);
            match nodes[at as usize].parent {
                Some(p) if state[p as usize] == NEW => at = p,
                Some(p) if state[p as usize] == ON_PATH => {
                    // `at` closes the loop: it becomes a root
                    nodes[at as usize].parent = None;
                    cut += 1;
                    break;
                }
                _ => break,
            }
        }
        for i in path.drain(..) {
            state[i as usize] = DONE;
        }
    }
    cut
}
