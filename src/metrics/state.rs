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

/// A newcomer takes a named command's place only when it ran more than
/// this many times as much: one-off names (temporary scripts) then go to
/// `other` rather than churn series, and an idle command's place is
/// taken after one half-life without runs.
const TAKEOVER: f64 = 2.0;

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
        let mut newcomers = Vec::new();
        for growth in &tick.growth {
            if growth.comm == OTHER || self.folded.contains(&growth.comm) {
                self.other.add(growth);
            } else if let Some(named) = self.named.get_mut(&growth.comm) {
                named.activity = named.activity(now) + growth.runs as f64;
                named.at = now;
                named.series.add(growth);
            } else {
                newcomers.push(growth);
            }
        }
        if newcomers.is_empty() {
            return;
        }
        // the busiest newcomers first: once one cannot take the place of
        // the least active named command, none after it can
        newcomers.sort_by(|a, b| b.runs.cmp(&a.runs).then_with(|| a.comm.cmp(&b.comm)));
        let mut least_active = self.by_activity(now).into_iter().peekable();
        for growth in newcomers {
            if self.named.len() >= self.max_commands {
                let beats =
                    |(activity, _): &(f64, String)| activity * TAKEOVER < growth.runs as f64;
                match least_active.next_if(beats) {
                    // it ran far less lately than this newcomer: its series ends
                    Some((_, comm)) => {
                        self.named.remove(&comm);
                        self.remember_folded(comm);
                    }
                    // the newcomer is no busier: it counts in other
                    None => {
                        self.other.add(growth);
                        self.remember_folded(growth.comm.clone());
                        continue;
                    }
                }
            }
            let mut series = Series::default();
            series.add(growth);
            let named = Named {
                series,
                activity: growth.runs as f64,
                at: now,
            };
            self.named.insert(growth.comm.clone(), named);
        }
    }

    /// The named commands, least active first; ties (commands that ran
    /// alike) by name, so a fold is the same from run to run.
    fn by_activity(&self, now: u64) -> Vec<(f64, String)> {
        let mut v: Vec<(f64, String)> = self
            .named
            .iter()
            .map(|(comm, n)| (n.activity(now), comm.clone()))
            .collect();
        v.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        v
    }

    /// Counts a fold, and sends the name's later runs to `other`. Its
    /// series ends where it was, as a series that is no longer exposed:
    /// its past counts are not moved into `other`, which would make
    /// `other` jump and `rate()` over it spike with no run behind it.
    fn remember_folded(&mut self, comm: String) {
        self.folds += 1;
        if self.folded_order.len() >= FOLDED_MEMORY {
            if let Some(oldest) = self.folded_order.pop_front() {
                self.folded.remove(&oldest);
            }
        }
        self.folded.insert(comm.clone());
        self.folded_order.push_back(comm);
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
        // a fourth name, much busier than cold: cold's series ends
        state.apply(&tick(vec![run("new", 5, 0)]));
        assert_eq!(state.named_count(), 3);
        assert_eq!(state.folds, 1);
        let names: HashSet<&str> = state.series().map(|(c, _)| c).collect();
        assert_eq!(names, HashSet::from(["busy", "warm", "new", OTHER]));
        // its past run did not move into other: other does not jump
        assert_eq!(
            state.series().find(|(c, _)| *c == OTHER).unwrap().1.runs(),
            0
        );
        // cold runs again: into other, not a series of its own
        state.apply(&tick(vec![run("cold", 4, 1)]));
        let other = state.series().find(|(c, _)| *c == OTHER).unwrap().1.clone();
        assert_eq!(other.exits, [0, 4, 0]);
        assert_eq!(state.named_count(), 3);
        // a newcomer not twice as busy as every named command goes to
        // other (new has 5 runs)
        state.apply(&tick(vec![run("rare", 9, 0)]));
        assert_eq!((state.named_count(), state.folds), (3, 2));
        let other = state.series().find(|(c, _)| *c == OTHER).unwrap().1.clone();
        assert_eq!(other.exits, [9, 4, 0]);
        // every run since the folds is in some series
        assert_eq!(
            totals(&state).exits.iter().sum::<u64>(),
            100 + 10 + 5 + 4 + 9
        );
        assert_eq!(totals(&state).cpu_user_ns, 128 * 750);
    }

    #[test]
    fn a_thousand_names_with_a_cap_of_a_hundred() {
        let mut state = State::new(100);
        let mut runs_into_other = 0;
        for batch in 0..10 {
            let growth: Vec<_> = (0..100)
                .map(|i| run(&format!("n{batch:02}{i:02}"), 1 + i % 3, 0))
                .collect();
            let other_before = state.other.runs();
            state.apply(&tick(growth));
            runs_into_other += state.other.runs() - other_before;
            assert!(state.named_count() <= 100);
        }
        assert_eq!(state.named_count(), 100);
        // each name past the first hundred folded one: itself or another
        assert_eq!(state.folds, 900);
        assert!(runs_into_other > 0);
        // at most the cap plus other
        assert_eq!(state.series().count(), 101);
        // the second batch's busiest names (3 runs) took the places of the
        // first's least busy (1 run); later ones were not twice as busy
        let named = |c: &str| state.series().any(|(n, _)| n == c);
        assert!(named("n0102") && !named("n0000") && named("n0001"));
        assert!(!named("n0902"));
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
