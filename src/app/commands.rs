//! The Commands view's data: per-command totals (from the kernel, which
//! counts every process, or added up from a replay's exits), their runs
//! and CPU over the last minute, and what finished rows tell of them: the
//! parents that ran them and their last command lines.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use crate::event::{CommandTotals, ExitInfo, WallTime};
use crate::source::CommandUpdate;

/// The most commands kept; the least recently run give way.
pub const MAX_COMMANDS: usize = 16_384;
/// Seconds of per-second counts kept.
pub const WINDOW_SECS: usize = 60;
const MAX_PARENTS: usize = 8;
const MAX_LINES: usize = 4;
const NS: u64 = 1_000_000_000;

/// Counts per second for the last minute, in a ring.
#[derive(Clone, Debug)]
pub struct PerSecond {
    /// the second `bins[last % WINDOW_SECS]` counts
    last: u64,
    bins: [u64; WINDOW_SECS],
}

impl Default for PerSecond {
    fn default() -> Self {
        Self {
            last: 0,
            bins: [0; WINDOW_SECS],
        }
    }
}

impl PerSecond {
    pub fn add(&mut self, at: WallTime, n: u64) {
        let second = at.0 / NS;
        let window = WINDOW_SECS as u64;
        if second > self.last {
            // clear the seconds skipped, at most the whole ring
            let from = self.last.max(second.saturating_sub(window)) + 1;
            for s in from..=second {
                self.bins[(s % window) as usize] = 0;
            }
            self.last = second;
        } else if second + window <= self.last {
            // older than the window
            return;
        }
        self.bins[(second % window) as usize] += n;
    }

    /// The counts of the `n` whole seconds before `now`'s, oldest first
    /// (the current second is still filling).
    pub fn recent(&self, now: WallTime, n: usize) -> Vec<u64> {
        self.iter(now, n).collect()
    }

    fn iter(&self, now: WallTime, n: usize) -> impl Iterator<Item = u64> + '_ {
        let now_second = now.0 / NS;
        let n = n.min(WINDOW_SECS) as u64;
        (1..=n).rev().map(move |back| {
            let s = now_second.saturating_sub(back);
            if s > self.last || s + WINDOW_SECS as u64 <= self.last || s == 0 {
                0
            } else {
                self.bins[(s % WINDOW_SECS as u64) as usize]
            }
        })
    }

    /// The sum of the `n` whole seconds before `now`'s (sorting calls it:
    /// no allocation).
    pub fn sum(&self, now: WallTime, n: usize) -> u64 {
        self.iter(now, n).sum()
    }
}

/// One command's row.
#[derive(Clone, Debug)]
pub struct CommandRow {
    /// unique for the App's life: the row's key
    pub id: u64,
    pub totals: CommandTotals,
    /// the duration percentiles, from the histogram, made when the totals
    /// change (sorting compares them often)
    pub p50: Option<u64>,
    pub p95: Option<u64>,
    pub runs: PerSecond,
    /// when it last ran
    pub last_run: WallTime,
    /// parent commands of the runs seen as finished rows, most first
    pub parents: Vec<(String, u64)>,
    /// runs whose parent was none of `parents`
    pub other_parents: u64,
    /// the last distinct command lines seen, newest last
    pub lines: VecDeque<String>,
}

impl CommandRow {
    fn new(id: u64, comm: &str) -> Self {
        Self {
            id,
            totals: CommandTotals::new(comm),
            p50: None,
            p95: None,
            runs: PerSecond::default(),
            last_run: WallTime::default(),
            parents: Vec::new(),
            other_parents: 0,
            lines: VecDeque::new(),
        }
    }

    fn totals_changed(&mut self) {
        self.p50 = self.totals.percentile(0.5);
        self.p95 = self.totals.percentile(0.95);
    }

    pub fn cpu_per_run(&self) -> Option<u64> {
        self.totals.cpu_ns.checked_div(self.totals.runs)
    }
}

/// Row ids are small unique integers: a multiply spreads them well enough,
/// and sorting 10,000 rows looks them up ~300,000 times.
#[derive(Clone, Copy, Debug, Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type ById<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

#[derive(Clone, Debug, Default)]
pub struct Commands {
    rows: ById<CommandRow>,
    /// rows changed since the view last took them, so a read that changed
    /// a few of 10,000 commands re-sorts only those
    touched: HashSet<u64, BuildHasherDefault<IdHasher>>,
    by_name: HashMap<String, u64>,
    next_id: u64,
    /// runs of every command, per second
    pub runs: PerSecond,
    /// CPU ns of processes that finished, per second
    pub cpu: PerSecond,
    /// commands dropped to stay within MAX_COMMANDS
    pub evicted: u64,
    /// commands the kernel evicted from its bounded map and counted
    /// afresh: their runs between a read and the eviction are missing
    pub kernel_restarted: u64,
    /// names the kernel's full map took in and evicted between two reads:
    /// their runs are not counted
    pub kernel_unseen: u64,
}

impl Commands {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn get(&self, id: u64) -> Option<&CommandRow> {
        self.rows.get(&id)
    }

    pub fn by_name(&self, comm: &str) -> Option<&CommandRow> {
        self.by_name.get(comm).and_then(|id| self.rows.get(id))
    }

    pub fn rows(&self) -> impl Iterator<Item = &CommandRow> {
        self.rows.values()
    }

    /// The rows changed since the last call.
    pub fn take_touched(&mut self) -> HashSet<u64, BuildHasherDefault<IdHasher>> {
        std::mem::take(&mut self.touched)
    }

    fn row(&mut self, comm: &str) -> &mut CommandRow {
        let id = match self.by_name.get(comm) {
            Some(&id) => id,
            None => {
                let id = self.next_id;
                self.next_id += 1;
                self.by_name.insert(comm.to_string(), id);
                self.rows.insert(id, CommandRow::new(id, comm));
                id
            }
        };
        self.touched.insert(id);
        self.rows.get_mut(&id).expect("by_name and rows agree")
    }

    /// Takes the kernel's totals: they replace what was known, and what
    /// they grew by counts in the second they were read.
    pub fn update(&mut self, update: CommandUpdate) {
        let at = update.at;
        let (mut runs, mut cpu) = (0, 0);
        for totals in update.changed {
            let row = self.row(&totals.comm);
            let grew = totals.runs.saturating_sub(row.totals.runs);
            cpu += totals.cpu_ns.saturating_sub(row.totals.cpu_ns);
            if grew > 0 {
                row.runs.add(at, grew);
                row.last_run = at;
                runs += grew;
            }
            row.totals = totals;
            row.totals_changed();
        }
        self.runs.add(at, runs);
        self.cpu.add(at, cpu);
        self.kernel_restarted += update.restarted;
        self.kernel_unseen = self.kernel_unseen.max(update.unseen);
        self.bound();
    }

    /// Counts a run from its exit: for a replay, which has no kernel.
    pub fn add_exit(&mut self, e: &ExitInfo) {
        let row = self.row(&e.process.comm);
        row.totals.add_exit(e);
        row.totals_changed();
        row.runs.add(e.end, 1);
        row.last_run = row.last_run.max(e.end);
        let cpu = e.usage.map_or(0, |u| u.cpu_ns());
        self.runs.add(e.end, 1);
        self.cpu.add(e.end, cpu);
        self.bound();
    }

    /// What a finished row tells of its command: who ran it, and how.
    pub fn note(&mut self, e: &ExitInfo, parent: Option<&str>, command_line: &str) {
        let row = self.row(&e.process.comm);
        let parent = parent.unwrap_or("?");
        if let Some(i) = row.parents.iter().position(|(p, _)| p == parent) {
            row.parents[i].1 += 1;
            // keep them most first; one step at a time is enough
            if i > 0 && row.parents[i].1 > row.parents[i - 1].1 {
                row.parents.swap(i, i - 1);
            }
        } else if row.parents.len() < MAX_PARENTS {
            row.parents.push((parent.to_string(), 1));
        } else {
            row.other_parents += 1;
        }
        if row.lines.back().map(String::as_str) != Some(command_line) {
            row.lines.retain(|l| l != command_line);
            row.lines.push_back(command_line.to_string());
            if row.lines.len() > MAX_LINES {
                row.lines.pop_front();
            }
        }
    }

    /// Over the cap, the least recently run eighth goes at once, so a
    /// storm of new names does not scan the map for every one.
    fn bound(&mut self) {
        if self.rows.len() <= MAX_COMMANDS {
            return;
        }
        let mut by_age: Vec<(WallTime, u64)> =
            self.rows.values().map(|r| (r.last_run, r.id)).collect();
        by_age.sort_unstable();
        for &(_, id) in by_age.iter().take(MAX_COMMANDS / 8) {
            if let Some(row) = self.rows.remove(&id) {
                self.by_name.remove(&row.totals.comm);
                self.touched.insert(id);
                self.evicted += 1;
            }
        }
    }

    /// The share of one core that processes finishing in the last `secs`
    /// whole seconds used, in percent.
    pub fn cpu_share(&self, now: WallTime, secs: usize) -> f64 {
        self.cpu.sum(now, secs) as f64 / (secs as f64 * NS as f64) * 100.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{ExitStatus, ProcessInfo, Usage};

    const T: u64 = 1_700_000_000 * NS;

    fn exit(comm: &str, end_s: u64, status: u32, cpu_ms: u64) -> ExitInfo {
        ExitInfo {
            process: ProcessInfo {
                comm: comm.into(),
                ..Default::default()
            },
            end: WallTime(T + end_s * NS),
            duration_ns: 1_000_000,
            status: ExitStatus(status),
            usage: Some(Usage {
                cpu_user_ns: cpu_ms * 1_000_000,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn per_second_counts_keep_a_minute() {
        let mut p = PerSecond::default();
        p.add(WallTime(T), 2);
        p.add(WallTime(T + NS / 2), 1);
        p.add(WallTime(T + 3 * NS), 5);
        // the current second is not counted yet
        assert_eq!(p.recent(WallTime(T + 3 * NS), 4), [0, 3, 0, 0]);
        assert_eq!(p.recent(WallTime(T + 4 * NS), 4), [3, 0, 0, 5]);
        assert_eq!(p.sum(WallTime(T + 4 * NS), 10), 8);
        // a minute later the ring has been reused, not summed again
        p.add(WallTime(T + 70 * NS), 1);
        assert_eq!(p.sum(WallTime(T + 71 * NS), 60), 1);
        // older than the window: dropped
        p.add(WallTime(T), 100);
        assert_eq!(p.sum(WallTime(T + 71 * NS), 60), 1);
    }

    #[test]
    fn kernel_totals_replace_and_their_growth_is_dated() {
        let mut c = Commands::default();
        let mut t = CommandTotals::new("make");
        t.runs = 10;
        t.cpu_ns = 4 * NS;
        c.update(CommandUpdate {
            at: WallTime(T),
            changed: vec![t.clone()],
            restarted: 0,
            unseen: 0,
        });
        t.runs = 15;
        t.cpu_ns = 5 * NS;
        c.update(CommandUpdate {
            at: WallTime(T + NS),
            changed: vec![t],
            restarted: 1,
            unseen: 0,
        });
        let row = c.by_name("make").unwrap();
        assert_eq!(row.totals.runs, 15);
        assert_eq!(row.runs.recent(WallTime(T + 2 * NS), 2), [10, 5]);
        assert_eq!(c.kernel_restarted, 1);
        // 5 s of CPU over the last 10 s: half a core
        assert!((c.cpu_share(WallTime(T + 2 * NS), 10) - 50.0).abs() < 1e-9);
    }

    #[test]
    fn exits_add_up_for_a_replay_and_notes_keep_parents_and_lines() {
        let mut c = Commands::default();
        for i in 0..20 {
            let e = exit("cc1", i % 3, if i == 0 { 1 << 8 } else { 0 }, 2);
            c.add_exit(&e);
            let parent = if i < 15 { "gcc" } else { "make" };
            c.note(&e, Some(parent), &format!("cc1 file{}.c", i % 6));
        }
        let row = c.by_name("cc1").unwrap();
        assert_eq!((row.totals.runs, row.totals.failed), (20, 1));
        assert_eq!(row.totals.cpu_ns, 40_000_000);
        assert_eq!(
            row.parents,
            [("gcc".to_string(), 15), ("make".to_string(), 5)]
        );
        assert_eq!(row.lines.len(), MAX_LINES);
        assert_eq!(row.lines.back().unwrap(), "cc1 file1.c");
        assert_eq!(row.cpu_per_run(), Some(2_000_000));
    }

    #[test]
    fn the_least_recently_run_give_way() {
        let mut c = Commands::default();
        for i in 0..=MAX_COMMANDS as u64 {
            c.add_exit(&exit(&format!("c{i}"), i, 0, 0));
        }
        assert_eq!(c.len(), MAX_COMMANDS + 1 - MAX_COMMANDS / 8);
        assert_eq!(c.evicted, (MAX_COMMANDS / 8) as u64);
        assert!(c.by_name("c0").is_none());
        assert!(c.by_name(&format!("c{MAX_COMMANDS}")).is_some());
    }
}
