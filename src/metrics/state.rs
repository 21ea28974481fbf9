//! What the exporter serves, as plain state: per-command counters built up
//! from the kernel's per-command totals, folded into `other` past the
//! cardinality cap, and the host-wide totals. No I/O here: the backend
//! feeds it, the scrape reads it.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::event::{CommandTotals, Drops, DURATION_BUCKETS, OUTCOME_CORE};

/// The label value commands are folded into. A process really named
/// `other` counts there too: a second series of that name could not be
/// told apart.
pub const OTHER: &str = "other";

/// Activity halves every this many ticks (seconds) without runs: the
/// command folded first is the one that ran least lately.
const HALF_LIFE_TICKS: f64 = 600.0;

/// Folded names remembered, so their later runs keep going to `other`
/// rather than start a series again; past this the oldest are forgotten
/// (about 40 bytes each). A forgotten name that comes back may get a
/// series of its own again, counting from its return: no run is counted
/// twice either way.
const FOLDED_MEMORY: usize = 65_536;

/// How a run ended, as the `outcome` label says it.
pub const OUTCOMES: [&str; 3] = ["success", "failure", "signal"];

/// One series' counters.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// runs by OUTCOMES
    pub exits: [u64; 3],
    pub cpu_user_ns: u64,
    pub cpu_system_ns: u64,
    /// the sum of the runs' durations
    pub duration_ns: u64,
    /// the kernel's duration histogram (not cumulative)
    pub durations: [u64; DURATION_BUCKETS],
}

impl Default for Series {
    fn default() -> Self {
        Series {
            exits: [0; 3],
            cpu_user_ns: 0,
            cpu_system_ns: 0,
            duration_ns: 0,
            durations: [0; DURATION_BUCKETS],
        }
    }
}

impl Series {
    fn add(&mut self, growth: &CommandTotals) {
        // slot 0 is exit code 0; 1-5 other codes; 6-14 signals; the core
        // dump slot counts runs already counted under their signal
        let o = &growth.outcomes;
        let signal: u64 = o[6..OUTCOME_CORE].iter().sum();
        let failure: u64 = o[1..6].iter().sum();
        for (n, add) in self.exits.iter_mut().zip([o[0], failure, signal]) {
            *n = n.saturating_add(add);
        }
        self.cpu_user_ns = self.cpu_user_ns.saturating_add(growth.cpu_user_ns());
        self.cpu_system_ns = self.cpu_system_ns.saturating_add(growth.cpu_system_ns);
        self.duration_ns = self.duration_ns.saturating_add(growth.duration_ns);
        for (n, add) in self.durations.iter_mut().zip(growth.durations) {
            *n = n.saturating_add(add);
        }
    }

    pub fn runs(&self) -> u64 {
        self.exits.iter().sum()
    }
}

/// A command with a series of its own.
#[derive(Clone, Debug)]
struct Named {
    series: Series,
    /// runs, halved every HALF_LIFE_TICKS, as of tick `at`
    activity: f64,
    at: u64,
}

impl Named {
    fn activity(&self, now: u64) -> f64 {
        let idle = now.saturating_sub(self.at) as f64;
        self.activity * (-idle / HALF_LIFE_TICKS).exp2()
    }
}

/// Host-wide totals, read from the kernel at each tick.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HostTotals {
    /// successful execs
    pub execs: u64,
    /// processes in the live table
    pub live: u64,
    pub drops: Drops,
    /// command names the kernel took in and evicted between two reads:
    /// their runs are in no series
    pub commands_unseen: u64,
}

/// One tick's news from the backend.
#[derive(Clone, Debug, Default)]
pub struct Tick {
    /// what each command counted since the last tick
    pub growth: Vec<CommandTotals>,
    pub host: HostTotals,
}

#[derive(Debug)]
pub struct State {
    max_commands: usize,
    named: HashMap<String, Named>,
    other: Series,
    folded: HashSet<String>,
    /// `folded` in the order names were folded, to forget the oldest
    folded_order: VecDeque<String>,
    /// names folded into `other` since start
    pub folds: u64,
    pub host: HostTotals,
    /// ticks taken in: a tick is a second
    ticks: u64,
}

impl State {
    pub fn new(max_commands: usize) -> Self {
        State {
            max_commands,
            named: HashMap::new(),
            other: Series::default(),
            folded: HashSet::new(),
            folded_order: VecDeque::new(),
            folds: 0,
            host: HostTotals::default(),
            ticks: 0,
        }
    }

    pub fn apply(&mut self, tick: &Tick) {
        self.ticks += 1;
        let now = self.ticks;
        self.host = tick.host;
        for growth in &tick.growth {
            if growth.comm == OTHER || self.folded.contains(&growth.comm) {
                self.other.add(growth);
                continue;
            }
            let named = self
                .named
                .entry(growth.comm.clone())
                .or_insert_with(|| Named {
                    series: Series::default(),
                    activity: 0.0,
                    at: now,
                });
            named.activity = named.activity(now) + growth.runs as f64;
            named.at = now;
            named.series.add(growth);
        }
        if self.named.len() > self.max_commands {
            self.fold(now);
        }
    }

    /// Folds the least active commands into `other`, down to the cap.
    fn fold(&mut self, now: u64) {
        let mut by_activity: Vec<(f64, &String)> = self
            .named
            .iter()
            .map(|(comm, n)| (n.activity(now), comm))
            .collect();
        // ties (commands that ran alike) go by name, so a fold is the same
        // from run to run
        by_activity.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(b.1)));
        let excess = self.named.len() - self.max_commands;
        let victims: Vec<String> = by_activity
            .into_iter()
            .take(excess)
            .map(|(_, comm)| comm.clone())
            .collect();
        for comm in victims {
            if let Some(named) = self.named.remove(&comm) {
                let s = &named.series;
                let o = &mut self.other;
                for (a, b) in o.exits.iter_mut().zip(s.exits) {
                    *a = a.saturating_add(b);
                }
                o.cpu_user_ns = o.cpu_user_ns.saturating_add(s.cpu_user_ns);
                o.cpu_system_ns = o.cpu_system_ns.saturating_add(s.cpu_system_ns);
                o.duration_ns = o.duration_ns.saturating_add(s.duration_ns);
                for (a, b) in o.durations.iter_mut().zip(s.durations) {
                    *a = a.saturating_add(b);
                }
            }
            self.folds += 1;
            if self.folded_order.len() >= FOLDED_MEMORY {
                if let Some(oldest) = self.folded_order.pop_front() {
                    self.folded.remove(&oldest);
                }
            }
            self.folded.insert(comm.clone());
            self.folded_order.push_back(comm);
        }
    }

    /// Every series: the named ones, then `other` once anything is in it.
    pub fn series(&self) -> impl Iterator<Item = (&str, &Series)> {
        let other = (self.other.runs() > 0 || self.folds > 0).then_some((OTHER, &self.other));
        self.named
            .iter()
            .map(|(comm, n)| (comm.as_str(), &n.series))
            .chain(other)
    }

    /// Commands with a series of their own.
    pub fn named_count(&self) -> usize {
        self.named.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(comm: &str, runs: u64, outcome_slot: usize) -> CommandTotals {
        let mut t = CommandTotals::new(comm);
        t.runs = runs;
        t.outcomes[outcome_slot] = runs;
        t.cpu_ns = runs * 1_000;
        t.cpu_system_ns = runs * 250;
        t.duration_ns = runs * 2_000_000;
        t.durations[40] = runs;
        t
    }

    fn tick(growth: Vec<CommandTotals>) -> Tick {
        Tick {
            growth,
            host: HostTotals::default(),
        }
    }

    fn totals(state: &State) -> Series {
        let mut all = Series::default();
        for (_, s) in state.series() {
            for (a, b) in all.exits.iter_mut().zip(s.exits) {
                *a += b;
            }
            all.cpu_user_ns += s.cpu_user_ns;
        }
        all
    }

    #[test]
    fn outcomes_split_into_success_failure_and_signal() {
        let mut state = State::new(10);
        let mut t = run("probe", 0, 0);
        t.outcomes = [0; 16];
        t.outcomes[0] = 300; // exit 0
        t.outcomes[1] = 7; // exit 1
        t.outcomes[5] = 2; // exit 42
        t.outcomes[10] = 3; // SIGKILL
        t.outcomes[11] = 1; // SIGSEGV, with a core:
        t.outcomes[OUTCOME_CORE] = 1;
        t.runs = 313;
        t.cpu_ns = 313_000;
        t.cpu_system_ns = 313 * 250;
        state.apply(&tick(vec![t]));
        let (_, s) = state.series().next().unwrap();
        assert_eq!(s.exits, [300, 9, 4]);
        assert_eq!(s.runs(), 313);
        assert_eq!(
            (s.cpu_user_ns, s.cpu_system_ns),
            (313_000 - 313 * 250, 313 * 250)
        );
    }

    #[test]
    fn growth_adds_up_across_ticks() {
        let mut state = State::new(10);
        state.apply(&tick(vec![run("sh", 2, 0)]));
        state.apply(&tick(vec![run("sh", 3, 1), run("cc", 1, 0)]));
        let mut got: Vec<_> = state
            .series()
            .map(|(c, s)| (c.to_string(), s.exits))
            .collect();
        got.sort();
        assert_eq!(
            got,
            vec![("cc".into(), [1, 0, 0]), ("sh".into(), [2, 3, 0])]
        );
        // nothing folded: no other series
        assert_eq!(state.folds, 0);
    }

    #[test]
    fn past_the_cap_the_least_active_fold_into_other_and_stay_there() {
        let mut state = State::new(3);
        state.apply(&tick(vec![
            run("busy", 100, 0),
            run("warm", 10, 0),
            run("cold", 1, 0),
        ]));
        assert_eq!(state.named_count(), 3);
        // a fourth name: the coldest goes
        state.apply(&tick(vec![run("new", 5, 0)]));
        assert_eq!(state.named_count(), 3);
        assert_eq!(state.folds, 1);
        let names: HashSet<&str> = state.series().map(|(c, _)| c).collect();
        assert_eq!(names, HashSet::from(["busy", "warm", "new", OTHER]));
        // cold runs again: into other, not a series of its own
        state.apply(&tick(vec![run("cold", 4, 1)]));
        let other = state.series().find(|(c, _)| *c == OTHER).unwrap().1.clone();
        assert_eq!(other.exits, [1, 4, 0]);
        assert_eq!(state.named_count(), 3);
        // nothing is lost: every run is in some series
        assert_eq!(totals(&state).exits.iter().sum::<u64>(), 120);
        assert_eq!(totals(&state).cpu_user_ns, 120 * 750);
    }

    #[test]
    fn a_thousand_names_with_a_cap_of_a_hundred() {
        let mut state = State::new(100);
        for batch in 0..10 {
            let growth = (0..100)
                .map(|i| run(&format!("n{batch:02}{i:02}"), 1 + i % 3, 0))
                .collect();
            state.apply(&tick(growth));
            assert!(state.named_count() <= 100);
        }
        assert_eq!(state.named_count(), 100);
        assert_eq!(state.folds, 900);
        let all: u64 = (0..10)
            .map(|_| (0..100u64).map(|i| 1 + i % 3).sum::<u64>())
            .sum();
        assert_eq!(totals(&state).exits[0], all);
        // at most the cap plus other
        assert_eq!(state.series().count(), 101);
    }

    #[test]
    fn idle_commands_fold_before_busier_newcomers() {
        let mut state = State::new(2);
        state.apply(&tick(vec![run("old", 1000, 0), run("steady", 10, 0)]));
        // an hour without runs: old's thousand runs have halved six times
        for _ in 0..3600 {
            state.apply(&tick(vec![run("steady", 1, 0)]));
        }
        state.apply(&tick(vec![run("fresh", 50, 0)]));
        let names: HashSet<&str> = state.series().map(|(c, _)| c).collect();
        assert_eq!(names, HashSet::from(["steady", "fresh", OTHER]));
    }

    #[test]
    fn a_process_named_other_counts_in_other() {
        let mut state = State::new(5);
        state.apply(&tick(vec![run(OTHER, 2, 0), run("x", 1, 0)]));
        assert_eq!(state.named_count(), 1);
        let other = state.series().find(|(c, _)| *c == OTHER).unwrap().1;
        assert_eq!(other.exits[0], 2);
    }
}
