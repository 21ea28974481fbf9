//! Per-command totals: what every run of one command used, grouped by the
//! process's name at exec. The kernel keeps them (before the min-duration
//! filter, so they count every process); a replay adds them up from its
//! exits. Both use the buckets and outcome slots defined here and in
//! `src/bpf/tracer.h`, which a test keeps equal.

use super::{ExitInfo, ExitStatus};

/// Duration histogram buckets: one below the first bound, one between each
/// pair of bounds, one at or above the last.
pub const DURATION_BUCKETS: usize = DURATION_BOUNDS_NS.len() + 1;

/// Bucket bounds: the R10 series (ten steps a decade, each about 26 %
/// wider) from 10 µs to 100 s, so the decades the histogram draws
/// (<100 µs … ≥10 s) fall on bucket edges and percentiles are within a
/// step of the truth.
pub const DURATION_BOUNDS_NS: [u64; 71] = {
    const STEPS: [u64; 10] = [100, 125, 160, 200, 250, 315, 400, 500, 630, 800];
    let mut out = [0u64; 71];
    let mut decade = 0;
    let mut scale = 100; // 10 µs = 100 * 100 ns
    while decade < 7 {
        let mut i = 0;
        while i < 10 {
            out[decade * 10 + i] = STEPS[i] * scale;
            i += 1;
        }
        scale *= 10;
        decade += 1;
    }
    out[70] = 100 * scale; // 100 s
    out
};

/// The histogram bucket of a duration.
pub fn duration_bucket(ns: u64) -> usize {
    DURATION_BOUNDS_NS.partition_point(|&b| b <= ns)
}

/// Outcome slots: common exit codes, common signals, and the rest.
pub const OUTCOME_SLOTS: usize = 16;
/// A slot's label, for the detail pane (`0`, `127`, `SIGKILL`).
pub const OUTCOME_LABELS: [&str; OUTCOME_SLOTS] = [
    "0",
    "1",
    "2",
    "126",
    "127",
    "other code",
    "SIGHUP",
    "SIGINT",
    "SIGQUIT",
    "SIGABRT",
    "SIGKILL",
    "SIGSEGV",
    "SIGPIPE",
    "SIGTERM",
    "other signal",
    "core dumped",
];
/// Slot counting core dumps (also counted under their signal).
pub const OUTCOME_CORE: usize = 15;

/// The outcome slot of an exit status (core dumps also count in
/// `OUTCOME_CORE`).
pub fn outcome_slot(status: ExitStatus) -> usize {
    match (status.code(), status.signal()) {
        (Some(0), _) => 0,
        (Some(1), _) => 1,
        (Some(2), _) => 2,
        (Some(126), _) => 3,
        (Some(127), _) => 4,
        (Some(_), _) => 5,
        (None, Some(sig)) => match sig {
            1 => 6,
            2 => 7,
            3 => 8,
            6 => 9,
            9 => 10,
            11 => 11,
            13 => 12,
            15 => 13,
            _ => 14,
        },
        (None, None) => 5,
    }
}

/// Everything one command's runs added up to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandTotals {
    /// the process name at exec, as shown in COMM
    pub comm: String,
    /// the kernel's name bytes, when read from the kernel: two names can
    /// show alike once cleaned (an escape byte and a typed-out `\x1b`),
    /// and are counted apart until they are shown
    pub key: Vec<u8>,
    pub runs: u64,
    /// non-zero exits and signals
    pub failed: u64,
    /// CPU time, user and system, of all runs
    pub cpu_ns: u64,
    /// the user and system parts of `cpu_ns` (each run's split by its
    /// ticks, as `split_cpu` does), each counted on its own so each only
    /// grows (a read may see `cpu_ns` grown before its parts)
    pub cpu_user_ns: u64,
    pub cpu_system_ns: u64,
    /// the sum of the runs' durations
    pub duration_ns: u64,
    pub max_duration_ns: u64,
    pub max_rss_kib: u64,
    pub outcomes: [u64; OUTCOME_SLOTS],
    pub durations: [u64; DURATION_BUCKETS],
}

impl CommandTotals {
    pub fn new(comm: impl Into<String>) -> Self {
        Self {
            comm: comm.into(),
            key: Vec::new(),
            runs: 0,
            failed: 0,
            cpu_ns: 0,
            cpu_user_ns: 0,
            cpu_system_ns: 0,
            duration_ns: 0,
            max_duration_ns: 0,
            max_rss_kib: 0,
            outcomes: [0; OUTCOME_SLOTS],
            durations: [0; DURATION_BUCKETS],
        }
    }

    /// Counts one run, as the kernel's exit program does.
    pub fn add_exit(&mut self, e: &ExitInfo) {
        self.runs += 1;
        self.failed += u64::from(e.status.failed());
        if let Some(u) = e.usage {
            self.cpu_ns = self.cpu_ns.saturating_add(u.cpu_ns());
            self.cpu_user_ns = self.cpu_user_ns.saturating_add(u.cpu_user_ns);
            self.cpu_system_ns = self.cpu_system_ns.saturating_add(u.cpu_system_ns);
            self.max_rss_kib = self.max_rss_kib.max(u.max_rss_kib);
        }
        self.duration_ns = self.duration_ns.saturating_add(e.duration_ns);
        self.max_duration_ns = self.max_duration_ns.max(e.duration_ns);
        self.outcomes[outcome_slot(e.status)] += 1;
        if e.status.core_dumped() {
            self.outcomes[OUTCOME_CORE] += 1;
        }
        self.durations[duration_bucket(e.duration_ns)] += 1;
    }

    /// Adds totals counted apart (the kernel's count of a command it
    /// evicted and began again).
    pub fn merge(&mut self, other: &CommandTotals) {
        self.runs += other.runs;
        self.failed += other.failed;
        self.cpu_ns = self.cpu_ns.saturating_add(other.cpu_ns);
        self.cpu_user_ns = self.cpu_user_ns.saturating_add(other.cpu_user_ns);
        self.cpu_system_ns = self.cpu_system_ns.saturating_add(other.cpu_system_ns);
        self.duration_ns = self.duration_ns.saturating_add(other.duration_ns);
        self.max_duration_ns = self.max_duration_ns.max(other.max_duration_ns);
        self.max_rss_kib = self.max_rss_kib.max(other.max_rss_kib);
        for (a, b) in self.outcomes.iter_mut().zip(other.outcomes) {
            *a += b;
        }
        for (a, b) in self.durations.iter_mut().zip(other.durations) {
            *a += b;
        }
    }

    /// What these totals counted beyond `earlier`, an older reading of
    /// the same counts: each counter's growth (the maxima are not
    /// counters: theirs are kept as they are now).
    pub fn growth_since(&self, earlier: &CommandTotals) -> CommandTotals {
        let mut d = self.clone();
        d.runs = d.runs.saturating_sub(earlier.runs);
        d.failed = d.failed.saturating_sub(earlier.failed);
        d.cpu_ns = d.cpu_ns.saturating_sub(earlier.cpu_ns);
        d.cpu_user_ns = d.cpu_user_ns.saturating_sub(earlier.cpu_user_ns);
        d.cpu_system_ns = d.cpu_system_ns.saturating_sub(earlier.cpu_system_ns);
        d.duration_ns = d.duration_ns.saturating_sub(earlier.duration_ns);
        for (a, b) in d.outcomes.iter_mut().zip(earlier.outcomes) {
            *a = a.saturating_sub(b);
        }
        for (a, b) in d.durations.iter_mut().zip(earlier.durations) {
            *a = a.saturating_sub(b);
        }
        d
    }

    /// The duration below which a share `q` (0..=1) of the runs ended,
    /// from the histogram: the bucket's geometric middle, never above the
    /// longest run. None with no runs.
    pub fn percentile(&self, q: f64) -> Option<u64> {
        let total: u64 = self.durations.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        if rank >= total {
            // the longest run is known exactly (a single run's median too)
            return Some(self.max_duration_ns);
        }
        let mut seen = 0;
        let bucket = self
            .durations
            .iter()
            .position(|&n| {
                seen += n;
                seen >= rank
            })
            .unwrap_or(DURATION_BUCKETS - 1);
        let low = if bucket == 0 {
            DURATION_BOUNDS_NS[0] / 2
        } else {
            DURATION_BOUNDS_NS[bucket - 1]
        };
        let high = DURATION_BOUNDS_NS
            .get(bucket)
            .copied()
            .unwrap_or(low.saturating_mul(2));
        let middle = ((low as f64) * (high as f64)).sqrt() as u64;
        Some(middle.min(self.max_duration_ns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Usage;

    #[test]
    fn bounds_are_the_r10_series_from_10us_to_100s() {
        assert_eq!(DURATION_BOUNDS_NS[0], 10_000);
        assert_eq!(DURATION_BOUNDS_NS[10], 100_000);
        assert_eq!(DURATION_BOUNDS_NS[5], 31_500);
        assert_eq!(DURATION_BOUNDS_NS[60], 10_000_000_000);
        assert_eq!(DURATION_BOUNDS_NS[70], 100_000_000_000);
        assert!(DURATION_BOUNDS_NS.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(DURATION_BUCKETS, 72);
    }

    #[test]
    fn buckets_hold_their_lower_bound() {
        assert_eq!(duration_bucket(0), 0);
        assert_eq!(duration_bucket(9_999), 0);
        assert_eq!(duration_bucket(10_000), 1);
        assert_eq!(duration_bucket(99_999), 10);
        assert_eq!(duration_bucket(100_000), 11);
        assert_eq!(duration_bucket(u64::MAX), 71);
    }

    #[test]
    fn outcomes() {
        assert_eq!(outcome_slot(ExitStatus(0)), 0);
        assert_eq!(outcome_slot(ExitStatus(127 << 8)), 4);
        assert_eq!(outcome_slot(ExitStatus(3 << 8)), 5);
        assert_eq!(outcome_slot(ExitStatus(9)), 10);
        assert_eq!(outcome_slot(ExitStatus(11 | 0x80)), 11);
        assert_eq!(outcome_slot(ExitStatus(10)), 14);
        assert_eq!(OUTCOME_LABELS[outcome_slot(ExitStatus(15))], "SIGTERM");
    }

    fn exit(duration_ns: u64, status: u32, cpu: u64, rss: u64) -> ExitInfo {
        ExitInfo {
            duration_ns,
            status: ExitStatus(status),
            usage: Some(Usage {
                cpu_user_ns: cpu,
                max_rss_kib: rss,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn runs_add_up_and_percentiles_come_from_the_histogram() {
        let mut t = CommandTotals::new("cc1");
        for i in 0..95 {
            t.add_exit(&exit(1_000_000 + i, 0, 10, 100));
        }
        for _ in 0..5 {
            t.add_exit(&exit(2_000_000_000, 1 << 8, 20, 300));
        }
        t.add_exit(&exit(5_000, 11 | 0x80, 0, 50));
        assert_eq!(
            (t.runs, t.failed, t.cpu_ns, t.max_rss_kib),
            (101, 6, 1050, 300)
        );
        assert_eq!(t.outcomes[0], 95);
        assert_eq!(t.outcomes[1], 5);
        assert_eq!(t.outcomes[11], 1);
        assert_eq!(t.outcomes[OUTCOME_CORE], 1);
        let p50 = t.percentile(0.5).unwrap();
        assert!((1_000_000..1_260_000).contains(&p50), "{p50}");
        let p99 = t.percentile(0.99).unwrap();
        assert!((1_600_000_000..=2_000_000_000).contains(&p99), "{p99}");
        assert_eq!(t.percentile(1.0), Some(2_000_000_000));
        assert_eq!(CommandTotals::new("x").percentile(0.5), None);
        let mut u = t.clone();
        u.merge(&t);
        assert_eq!((u.runs, u.max_rss_kib), (202, 300));
        assert_eq!(u.durations.iter().sum::<u64>(), 202);
    }
}
