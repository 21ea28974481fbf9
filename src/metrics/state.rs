//! What the exporter serves, as plain state: per-command counters built up
//! from the kernel's per-command totals, folded into `other` past the
//! cardinality cap, and the host-wide totals. No I/O here: the backend
//! feeds it, the scrape reads it.

use std::collections::HashMap;

use crate::event::{CommandTotals, Drops, DURATION_BUCKETS, OUTCOME_CORE};

/// The label value commands are folded into. A process really named
/// `other` counts there too: a second series of that name could not be
/// told apart.
pub const OTHER: &str = "other";

/// A command's activity is its runs, each weighing half as much every
/// this many seconds: what it ran lately counts most.
const HALF_LIFE_SECS: f64 = 600.0;

/// A folded command takes a named one's place only when its activity is
/// more than this many times as high: commands about as busy as each
/// other do not trade places back and forth, and one-off names (temporary
/// scripts) stay in `other` rather than churn series.
const TAKEOVER: f64 = 2.0;

/// Folded names whose activity is remembered, so a busy one can win a
/// place; past this the least active are forgotten (about 100 bytes
/// each). A forgotten name that comes back starts afresh, in `other`.
const FOLDED_MEMORY: usize = 16_384;

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
        self.cpu_user_ns = self.cpu_user_ns.saturating_add(growth.cpu_user_ns);
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

/// A command's recent runs, for folding.
#[derive(Clone, Copy, Debug)]
struct Activity {
    /// runs, as weighed at `at` (seconds)
    weight: f64,
    at: f64,
}

impl Activity {
    fn starting(runs: u64, now: f64) -> Self {
        Activity {
            weight: runs as f64,
            at: now,
        }
    }

    fn at(&self, now: f64) -> f64 {
        self.weight * (-(now - self.at).max(0.0) / HALF_LIFE_SECS).exp2()
    }

    fn add(&mut self, runs: u64, now: f64) {
        self.weight = self.at(now) + runs as f64;
        self.at = now;
    }
}

/// A command with a series of its own.
#[derive(Clone, Debug)]
struct Named {
    series: Series,
    activity: Activity,
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
    /// when it was read, in seconds of a clock that only goes forward
    /// (the activity's decay follows it, not the count of ticks, which
    /// pause while the output stalls)
    pub seconds: f64,
    /// what each command counted since the last tick
    pub growth: Vec<CommandTotals>,
    pub host: HostTotals,
}

#[derive(Debug)]
pub struct State {
    max_commands: usize,
    named: HashMap<String, Named>,
    other: Series,
    folded: HashMap<String, Activity>,
    /// names folded into `other` since start: newcomers past the cap, and
    /// named commands that lost their place
    pub folds: u64,
    pub host: HostTotals,
    now: f64,
    /// ticks taken in, so a scrape can tell whether its cached encoding
    /// is still the state's
    pub generation: u64,
}

impl State {
    pub fn new(max_commands: usize) -> Self {
        State {
            max_commands: max_commands.max(1),
            named: HashMap::new(),
            other: Series::default(),
            folded: HashMap::new(),
            folds: 0,
            host: HostTotals::default(),
            now: 0.0,
            generation: 0,
        }
    }

    pub fn apply(&mut self, tick: &Tick) {
        self.generation += 1;
        self.now = self.now.max(tick.seconds);
        let now = self.now;
        self.host = tick.host;
        let mut risen = Vec::new();
        for growth in &tick.growth {
            if growth.comm == OTHER {
                self.other.add(growth);
            } else if let Some(named) = self.named.get_mut(&growth.comm) {
                named.activity.add(growth.runs, now);
                named.series.add(growth);
            } else if self.named.len() < self.max_commands {
                self.folded.remove(&growth.comm);
                let mut series = Series::default();
                series.add(growth);
                let activity = Activity::starting(growth.runs, now);
                self.named
                    .insert(growth.comm.clone(), Named { series, activity });
            } else {
                // past the cap: its runs go to other, and it may win a
                // place below
                self.other.add(growth);
                let activity = self.folded.entry(growth.comm.clone()).or_insert_with(|| {
                    self.folds += 1;
                    Activity::starting(0, now)
                });
                activity.add(growth.runs, now);
                risen.push(growth.comm.clone());
            }
        }
        self.promote(risen);
        self.forget_beyond_memory();
    }

    /// Folded commands that ran this tick take the places of named ones
    /// far less active. Only those that ran can have overtaken anyone:
    /// the others' activity decays at the same pace as the named ones'.
    /// A promoted command's series starts at zero (its runs so far are in
    /// `other`); the one it replaces ends where it was, as a series no
    /// longer exposed: its past counts are not moved into `other`, which
    /// would make `other` jump with no run behind it.
    fn promote(&mut self, mut risen: Vec<String>) {
        if risen.is_empty() {
            return;
        }
        let now = self.now;
        let activity_of = |folded: &HashMap<String, Activity>, comm: &String| {
            folded.get(comm).map_or(0.0, |a| a.at(now))
        };
        // the busiest first: once one cannot take a place, none after it can
        risen.sort_by(|a, b| {
            let (x, y) = (activity_of(&self.folded, a), activity_of(&self.folded, b));
            y.total_cmp(&x).then_with(|| a.cmp(b))
        });
        let mut least_active = self.by_activity().into_iter().peekable();
        for comm in risen {
            let Some(activity) = self.folded.get(&comm).copied() else {
                continue;
            };
            let beaten = |(weight, _): &(f64, String)| weight * TAKEOVER < activity.at(now);
            let Some((weight, loser)) = least_active.next_if(beaten) else {
                break;
            };
            self.named.remove(&loser);
            self.folded.insert(loser, Activity { weight, at: now });
            self.folds += 1;
            self.folded.remove(&comm);
            let named = Named {
                series: Series::default(),
                activity,
            };
            self.named.insert(comm, named);
        }
    }

    /// The named commands, least active first; ties by name, so a fold is
    /// the same from run to run.
    fn by_activity(&self) -> Vec<(f64, String)> {
        let mut v: Vec<(f64, String)> = self
            .named
            .iter()
            .map(|(comm, n)| (n.activity.at(self.now), comm.clone()))
            .collect();
        v.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        v
    }

    /// Forgets the least active folded names, down to 7/8 of the memory,
    /// so this runs once in a while rather than at every tick.
    fn forget_beyond_memory(&mut self) {
        if self.folded.len() <= FOLDED_MEMORY {
            return;
        }
        let mut by_activity: Vec<(f64, String)> = self
            .folded
            .iter()
            .map(|(comm, a)| (a.at(self.now), comm.clone()))
            .collect();
        by_activity.sort_by(|a, b| a.0.total_cmp(&b.0));
        let excess = self.folded.len() - FOLDED_MEMORY * 7 / 8;
        for (_, comm) in by_activity.into_iter().take(excess) {
            self.folded.remove(&comm);
        }
    }

    /// Every series: the named ones, then `other` (always, from zero, so
    /// its first sample is no jump).
    pub fn series(&self) -> impl Iterator<Item = (&str, &Series)> {
        self.named
            .iter()
            .map(|(comm, n)| (comm.as_str(), &n.series))
            .chain(std::iter::once((OTHER, &self.other)))
    }

    /// Commands with a series of their own.
    pub fn named_count(&self) -> usize {
        self.named.len()
    }

    /// Folded names whose activity is remembered.
    pub fn folded_count(&self) -> usize {
        self.folded.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn run(comm: &str, runs: u64, outcome_slot: usize) -> CommandTotals {
        let mut t = CommandTotals::new(comm);
        t.runs = runs;
        t.outcomes[outcome_slot] = runs;
        t.cpu_ns = runs * 1_000;
        t.cpu_user_ns = runs * 750;
        t.cpu_system_ns = runs * 250;
        t.duration_ns = runs * 2_000_000;
        t.durations[40] = runs;
        t
    }

    /// A state fed one tick a second.
    struct Fed {
        state: State,
        seconds: f64,
    }

    impl Fed {
        fn new(cap: usize) -> Self {
            Fed {
                state: State::new(cap),
                seconds: 0.0,
            }
        }

        fn tick(&mut self, growth: Vec<CommandTotals>) {
            self.seconds += 1.0;
            self.state.apply(&Tick {
                seconds: self.seconds,
                growth,
                host: HostTotals::default(),
            });
        }

        fn names(&self) -> HashSet<&str> {
            self.state.series().map(|(c, _)| c).collect()
        }

        fn series(&self, comm: &str) -> Series {
            let found = self.state.series().find(|(c, _)| *c == comm);
            found.expect("a series").1.clone()
        }

        fn exposed_runs(&self) -> u64 {
            self.state.series().map(|(_, s)| s.runs()).sum()
        }
    }

    #[test]
    fn outcomes_split_into_success_failure_and_signal() {
        let mut fed = Fed::new(10);
        let mut t = run("probe", 0, 0);
        t.outcomes[0] = 300; // exit 0
        t.outcomes[1] = 7; // exit 1
        t.outcomes[5] = 2; // exit 42
        t.outcomes[10] = 3; // SIGKILL
        t.outcomes[11] = 1; // SIGSEGV, with a core:
        t.outcomes[OUTCOME_CORE] = 1;
        t.runs = 313;
        t.cpu_ns = 313_000;
        t.cpu_user_ns = 313 * 750;
        t.cpu_system_ns = 313 * 250;
        fed.tick(vec![t]);
        let s = fed.series("probe");
        assert_eq!(s.exits, [300, 9, 4]);
        assert_eq!(s.runs(), 313);
        assert_eq!((s.cpu_user_ns, s.cpu_system_ns), (313 * 750, 313 * 250));
    }

    #[test]
    fn growth_adds_up_across_ticks_and_other_is_there_from_the_start() {
        let mut fed = Fed::new(10);
        fed.tick(vec![run("sh", 2, 0)]);
        fed.tick(vec![run("sh", 3, 1), run("cc", 1, 0)]);
        assert_eq!(fed.series("sh").exits, [2, 3, 0]);
        assert_eq!(fed.series("cc").exits, [1, 0, 0]);
        // nothing folded: other is there, at zero
        assert_eq!(fed.series(OTHER), Series::default());
        assert_eq!((fed.state.folds, fed.names().len()), (0, 3));
    }

    #[test]
    fn past_the_cap_newcomers_go_to_other_and_a_far_busier_one_wins_a_place() {
        let mut fed = Fed::new(3);
        fed.tick(vec![
            run("busy", 100, 0),
            run("warm", 10, 0),
            run("cold", 1, 0),
        ]);
        // a newcomer about as busy as the least active named: to other
        fed.tick(vec![run("one-off", 1, 0)]);
        assert_eq!(fed.names(), HashSet::from(["busy", "warm", "cold", OTHER]));
        assert_eq!((fed.series(OTHER).exits, fed.state.folds), ([1, 0, 0], 1));
        // one far busier than cold: it wins cold's place, from zero (its
        // runs so far are in other); cold's series ends where it was, its
        // past counts not moved into other
        fed.tick(vec![run("late", 5, 1)]);
        assert_eq!(fed.names(), HashSet::from(["busy", "warm", "late", OTHER]));
        assert_eq!(fed.series("late").runs(), 0);
        assert_eq!(fed.series(OTHER).exits, [1, 5, 0]);
        assert_eq!(fed.state.folds, 3);
        // from now on late counts in its own series, cold in other
        fed.tick(vec![run("late", 2, 0), run("cold", 4, 2 + 8)]);
        assert_eq!(fed.series("late").exits, [2, 0, 0]);
        assert_eq!(fed.series(OTHER).exits, [1, 5, 4]);
        // every run since the start, but cold's one, is in some series
        assert_eq!(fed.exposed_runs(), 100 + 10 + 1 + 5 + 2 + 4);
        assert_eq!(fed.state.named_count(), 3);
    }

    #[test]
    fn a_folded_service_that_becomes_the_busiest_gets_its_series() {
        let mut fed = Fed::new(2);
        fed.tick(vec![run("a", 50, 0), run("b", 50, 0)]);
        // svc arrives past the cap, a few runs a second: it overtakes
        // once its activity is twice the least active's
        let mut seconds = 0;
        while !fed.names().contains("svc") {
            fed.tick(vec![run("a", 1, 0), run("b", 1, 0), run("svc", 5, 0)]);
            seconds += 1;
            assert!(seconds < 200, "svc never got a place");
        }
        assert_eq!(fed.names().len(), 3);
        assert_eq!(fed.series("svc").runs(), 0);
        fed.tick(vec![run("svc", 5, 0)]);
        assert_eq!(fed.series("svc").runs(), 5);
    }

    #[test]
    fn a_thousand_names_with_a_cap_of_a_hundred() {
        let mut fed = Fed::new(100);
        let mut all = 0;
        for batch in 0..10 {
            let growth: Vec<_> = (0..100)
                .map(|i| run(&format!("n{batch:02}{i:02}"), 1 + i % 3, 0))
                .collect();
            all += growth.iter().map(|g| g.runs).sum::<u64>();
            fed.tick(growth);
            assert!(fed.state.named_count() <= 100);
        }
        assert_eq!(fed.state.named_count(), 100);
        // at most the cap plus other
        assert_eq!(fed.names().len(), 101);
        // each name past the first hundred was folded once; each that won
        // a place folded another
        let promoted = (1..10)
            .flat_map(|b| (0..100).map(move |i| format!("n{b:02}{i:02}")))
            .filter(|n| fed.names().contains(n.as_str()))
            .count() as u64;
        assert!(promoted > 0);
        assert_eq!(fed.state.folds, 900 + promoted);
        // the runs in no series are those of the names that lost their
        // place, before they lost it (one to three each)
        let lost = all - fed.exposed_runs();
        assert!(
            (promoted..=3 * promoted).contains(&lost),
            "{lost} of {promoted}"
        );
    }

    #[test]
    fn idle_commands_lose_their_place_to_busy_newcomers() {
        let mut fed = Fed::new(2);
        fed.tick(vec![run("old", 1000, 0), run("steady", 10, 0)]);
        // an hour without runs: old's thousand runs weigh 2^-6 as much
        for _ in 0..3600 {
            fed.tick(vec![run("steady", 1, 0)]);
        }
        fed.tick(vec![run("fresh", 50, 0)]);
        assert_eq!(fed.names(), HashSet::from(["steady", "fresh", OTHER]));
    }

    #[test]
    fn folded_memory_is_bounded() {
        let mut fed = Fed::new(1);
        fed.tick(vec![run("kept", 1_000_000, 0)]);
        for batch in 0..3 {
            let growth = (0..FOLDED_MEMORY).map(|i| run(&format!("{batch}-{i}"), 1, 0));
            fed.tick(growth.collect());
            assert!(fed.state.folded_count() <= FOLDED_MEMORY);
        }
        assert_eq!(fed.series(OTHER).runs(), 3 * FOLDED_MEMORY as u64);
    }

    #[test]
    fn a_process_named_other_counts_in_other() {
        let mut fed = Fed::new(5);
        fed.tick(vec![run(OTHER, 2, 0), run("x", 1, 0)]);
        assert_eq!(fed.state.named_count(), 1);
        assert_eq!(fed.series(OTHER).exits[0], 2);
    }
}
