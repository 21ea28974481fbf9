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
use std::collections::HashMap;

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
    /// children and groups of children, in the sort's order
    pub children: Vec<Entry>,
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
    pub roots: Vec<Entry>,
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
    pub fn comm(&self) -> &'a str {
        match self {
            RowRef::Live(r) => &r.info.comm,
            RowRef::Finished(r) => &r.exit.process.comm,
        }
    }

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
        // (pid, start, born_of, live?, node) for every process; finished
        // first so a live row of a process that also finished is dropped
        let mut nodes: Vec<Node> = Vec::with_capacity(store.live_count() + store.finished_count());
        let mut born: Vec<u32> = Vec::with_capacity(nodes.capacity());
        for r in store.finished_rows() {
            let p = &r.exit.process;
            let failed = r.exit.status.failed();
            let cpu = r.exit.usage.map(|u| u.cpu_ns());
            nodes.push(Node {
                proc: Proc::Finished(r.seq),
                pid: p.pid,
                start: p.start,
                duration_ns: r.exit.duration_ns,
                parent: None,
                children: Vec::new(),
                totals: Totals {
                    procs: 1,
                    failed: u32::from(failed),
                    running: 0,
                    cpu_ns: cpu.unwrap_or(0),
                    cpu_known: cpu.is_some(),
                },
            });
            born.push(r.born_of);
        }
        let finished = nodes.len();
        for r in store.live_rows() {
            nodes.push(Node {
                proc: Proc::Live(r.info.pid),
                pid: r.info.pid,
                start: r.info.start,
                duration_ns: now.0.saturating_sub(r.info.start.0),
                parent: None,
                children: Vec::new(),
                totals: Totals {
                    procs: 1,
                    running: 1,
                    ..Totals::default()
                },
            });
            born.push(r.born_of);
        }
        // processes by (pid, start): a child's parent is the newest process
        // with its birth parent's pid that started no later than it did
        let ends: Vec<u64> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                if i < finished {
                    n.start.0.saturating_add(n.duration_ns)
                } else {
                    u64::MAX
                }
            })
            .collect();
        let mut by_pid: Vec<u32> = (0..nodes.len() as u32).collect();
        by_pid.sort_unstable_by_key(|&i| {
            let n = &nodes[i as usize];
            (n.pid, n.start, i as usize >= finished)
        });
        // the same process live and finished (an exit racing a snapshot):
        // the finished row tells more
        let mut dropped = vec![false; nodes.len()];
        for w in by_pid.windows(2) {
            let (a, b) = (&nodes[w[0] as usize], &nodes[w[1] as usize]);
            if a.pid == b.pid && a.start == b.start && w[1] as usize >= finished {
                dropped[w[1] as usize] = true;
            }
        }
        for i in 0..nodes.len() {
            if dropped[i] {
                continue;
            }
            let (child_start, parent_pid) = (nodes[i].start, born[i]);
            if parent_pid == 0 || parent_pid == nodes[i].pid {
                continue;
            }
            // the last candidate with that pid started no later than the child
            let upper = by_pid.partition_point(|&j| {
                let n = &nodes[j as usize];
                (n.pid, n.start) <= (parent_pid, child_start)
            });
            let parent = by_pid[..upper]
                .iter()
                .rev()
                .take_while(|&&j| nodes[j as usize].pid == parent_pid)
                .find(|&&j| !dropped[j as usize] && j as usize != i);
            // a process with that pid that ended before the child began is
            // an earlier user of the pid, not the parent
            if let Some(&j) = parent.filter(|&&j| ends[j as usize] >= child_start.0) {
                nodes[i].parent = Some(j);
            }
        }
        let cycles_cut = cut_cycles(&mut nodes, &dropped);
        let mut forest = Forest {
            cycles_cut,
            ..Forest::default()
        };
        let mut kids: Vec<Vec<u32>> = vec![Vec::new(); nodes.len()];
        let mut roots = Vec::new();
        for (i, n) in nodes.iter().enumerate() {
            if dropped[i] {
                continue;
            }
            match n.parent {
                Some(p) => kids[p as usize].push(i as u32),
                None => roots.push(i as u32),
            }
        }
        // parents before children, breadth first from the roots
        let mut top_down = roots.clone();
        let mut at = 0;
        while at < top_down.len() {
            top_down.extend_from_slice(&kids[top_down[at] as usize]);
            at += 1;
        }
        for &i in top_down.iter().rev() {
            if let Some(p) = nodes[i as usize].parent {
                let t = nodes[i as usize].totals;
                nodes[p as usize].totals.add(&t);
            }
        }
        forest.nodes = nodes;
        forest.top_down = top_down;
        forest.roots = forest.gather(store, None, &roots);
        for (i, list) in kids.iter().enumerate() {
            if !list.is_empty() {
                let entries = forest.gather(store, Some(i as u32), list);
                forest.nodes[i].children = entries;
            }
        }
        forest
    }

    /// A sibling list as entries: runs of one command, `GROUP_MIN` or
    /// more, become a group.
    fn gather(&mut self, store: &Store, parent: Option<u32>, list: &[u32]) -> Vec<Entry> {
        if list.len() < GROUP_MIN {
            return list.iter().map(|&i| Entry::Node(i)).collect();
        }
        let comm = |i: u32| row(store, self.nodes[i as usize].proc).map_or("", |r| r.comm());
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for &i in list {
            *counts.entry(comm(i)).or_default() += 1;
        }
        let mut group_of: HashMap<&str, u32> = HashMap::new();
        let mut entries = Vec::new();
        let mut groups = Vec::new();
        for &i in list {
            let name = comm(i);
            if counts[name] < GROUP_MIN {
                entries.push(Entry::Node(i));
                continue;
            }
            let next = (self.groups.len() + groups.len()) as u32;
            let g = *group_of.entry(name).or_insert_with(|| {
                groups.push(Group {
                    name: name.to_string(),
                    parent,
                    members: Vec::new(),
                    totals: Totals::default(),
                    longest_ns: 0,
                });
                entries.push(Entry::Group(next));
                next
            });
            let node = &self.nodes[i as usize];
            let group = &mut groups[(g as usize) - self.groups.len()];
            group.members.push(i);
            group.totals.add(&node.totals);
            group.longest_ns = group.longest_ns.max(node.duration_ns);
        }
        self.groups.extend(groups);
        entries
    }

    /// Puts every sibling list (and group) in the sort's order; the start
    /// time and pid break ties, so lines do not jitter.
    pub fn sort(&mut self, store: &Store, sort: Sort<TreeColumn>) {
        if self.sorted_by == Some(sort) {
            return;
        }
        // sorted copies, then put back: the comparison reads the lists
        let cmp = |a: &Entry, b: &Entry| sort.apply(self.compare(store, sort.column, *a, *b));
        let mut roots = self.roots.clone();
        roots.sort_by(cmp);
        let children: Vec<Vec<Entry>> = self
            .nodes
            .iter()
            .map(|n| {
                let mut list = n.children.clone();
                list.sort_by(cmp);
                list
            })
            .collect();
        let members: Vec<Vec<u32>> = self
            .groups
            .iter()
            .map(|g| {
                let mut list = g.members.clone();
                list.sort_by(|&a, &b| cmp(&Entry::Node(a), &Entry::Node(b)));
                list
            })
            .collect();
        self.roots = roots;
        for (n, list) in self.nodes.iter_mut().zip(children) {
            n.children = list;
        }
        for (g, list) in self.groups.iter_mut().zip(members) {
            g.members = list;
        }
        self.sorted_by = Some(sort);
    }

    /// The node that stands for an entry in sorting: itself, or a
    /// group's earliest member.
    fn first(&self, e: Entry) -> Option<&Node> {
        match e {
            Entry::Node(i) => self.nodes.get(i as usize),
            Entry::Group(g) => {
                let members = &self.groups.get(g as usize)?.members;
                members
                    .iter()
                    .map(|&i| &self.nodes[i as usize])
                    .min_by_key(|n| (n.start, n.pid))
            }
        }
    }

    pub fn totals(&self, e: Entry) -> Totals {
        match e {
            Entry::Node(i) => self.nodes[i as usize].totals,
            Entry::Group(g) => self.groups[g as usize].totals,
        }
    }

    fn compare(&self, store: &Store, column: TreeColumn, a: Entry, b: Entry) -> Ordering {
        let (Some(x), Some(y)) = (self.first(a), self.first(b)) else {
            return Ordering::Equal;
        };
        let (ta, tb) = (self.totals(a), self.totals(b));
        let duration = |e: Entry, n: &Node| match e {
            Entry::Node(_) => n.duration_ns,
            Entry::Group(g) => self.groups[g as usize].longest_ns,
        };
        let exit = |n: &Node| match row(store, n.proc) {
            Some(RowRef::Finished(r)) => (u8::from(r.exit.status.failed()), r.exit.status.0),
            _ => (0, 0),
        };
        let name = |e: Entry, n: &Node| match e {
            Entry::Node(_) => row(store, n.proc).map_or("", |r| r.command()),
            Entry::Group(g) => &self.groups[g as usize].name,
        };
        let primary = match column {
            TreeColumn::Start => Ordering::Equal,
            TreeColumn::Pid => x.pid.cmp(&y.pid),
            TreeColumn::Procs => ta.procs.cmp(&tb.procs),
            TreeColumn::Failed => ta.failed.cmp(&tb.failed),
            TreeColumn::Cpu => ta.cpu_ns.cmp(&tb.cpu_ns),
            TreeColumn::Duration => duration(a, x).cmp(&duration(b, y)),
            TreeColumn::Exit => exit(x).cmp(&exit(y)),
            TreeColumn::Command => name(a, x).cmp(name(b, y)),
        };
        primary
            .then(x.start.cmp(&y.start))
            .then(x.pid.cmp(&y.pid))
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
