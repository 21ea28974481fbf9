//! The exposition: the exporter's state as Prometheus metric families, for
//! the `prometheus` crate's text encoder (which escapes label values).
//! Names and labels are part of the interface, documented in the README.

use std::sync::{Arc, Mutex};

use prometheus::core::{Collector, Desc};
use prometheus::proto::{
    Bucket, Counter, Gauge, Histogram, LabelPair, Metric, MetricFamily, MetricType,
};

use super::state::{Series, State, OUTCOMES};
use crate::event::{Drops, DURATION_BOUNDS_NS};

/// The kernel's histogram bounds the exposition uses: 1, 2.5 and 5 of
/// each decade from 10 µs to 100 s (indexes into DURATION_BOUNDS_NS).
/// The kernel's 72 buckets are cumulative at any of its bounds, so a
/// subset is exact; all 72 would be 74 series a command.
pub const EXPOSED_BOUNDS: [usize; 22] = [
    0, 4, 7, 10, 14, 17, 20, 24, 27, 30, 34, 37, 40, 44, 47, 50, 54, 57, 60, 64, 67, 70,
];

struct Family {
    name: &'static str,
    help: &'static str,
    kind: MetricType,
    labels: &'static [&'static str],
}

const EXITS: Family = Family {
    name: "tracer_tui_process_exits_total",
    help: "Processes ended, by name at exec and outcome (success: exit code 0; failure: another code; signal), \
           counted by the kernel before the -d filter",
    kind: MetricType::COUNTER,
    labels: &["comm", "outcome"],
};
const CPU: Family = Family {
    name: "tracer_tui_process_cpu_seconds_total",
    help: "CPU time of ended processes (all their threads, not their children), by name and mode",
    kind: MetricType::COUNTER,
    labels: &["comm", "mode"],
};
const DURATION: Family = Family {
    name: "tracer_tui_process_duration_seconds",
    help: "Lifetimes of ended processes (fork to exit), by name, from the kernel's histogram",
    kind: MetricType::HISTOGRAM,
    labels: &["comm"],
};
const EXECS: Family = Family {
    name: "tracer_tui_execs_total",
    help: "Successful execs, counted by the kernel",
    kind: MetricType::COUNTER,
    labels: &[],
};
const LIVE: Family = Family {
    name: "tracer_tui_live_processes",
    help: "Processes running now, as tracer-tui's live table holds them",
    kind: MetricType::GAUGE,
    labels: &[],
};
const LOST: Family = Family {
    name: "tracer_tui_events_lost_total",
    help: "What the kernel could not deliver or count, by kind",
    kind: MetricType::COUNTER,
    labels: &["kind"],
};
const FOLDED: Family = Family {
    name: "tracer_tui_commands_folded_total",
    help: "Folds into comm=\"other\": names seen past --metrics-max-commands, and named commands that lost their place",
    kind: MetricType::COUNTER,
    labels: &[],
};
const BUILD: Family = Family {
    name: "tracer_tui_build_info",
    help: "The running tracer-tui's version",
    kind: MetricType::GAUGE,
    labels: &["version"],
};

const FAMILIES: [&Family; 8] = [
    &EXITS, &CPU, &DURATION, &EXECS, &LIVE, &LOST, &FOLDED, &BUILD,
];

/// The state's metrics, gathered at each scrape.
#[derive(Debug)]
pub struct StateCollector {
    state: Arc<Mutex<State>>,
    descs: Vec<Desc>,
}

impl StateCollector {
    pub fn new(state: Arc<Mutex<State>>) -> prometheus::Result<Self> {
        let descs = FAMILIES
            .iter()
            .map(|f| {
                let labels = f.labels.iter().map(|l| l.to_string()).collect();
                Desc::new(f.name.into(), f.help.into(), labels, Default::default())
            })
            .collect::<prometheus::Result<_>>()?;
        Ok(StateCollector { state, descs })
    }
}

impl Collector for StateCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        families(&state)
    }
}

/// The metric families of a state, series sorted by name.
pub fn families(state: &State) -> Vec<MetricFamily> {
    let mut series: Vec<(&str, &Series)> = state.series().collect();
    series.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut exits = Vec::with_capacity(series.len() * 3);
    let mut cpu = Vec::with_capacity(series.len() * 2);
    let mut durations = Vec::with_capacity(series.len());
    for (comm, s) in &series {
        for (outcome, n) in OUTCOMES.iter().zip(s.exits) {
            exits.push(counter(&[("comm", comm), ("outcome", outcome)], n as f64));
        }
        cpu.push(counter(
            &[("comm", comm), ("mode", "user")],
            seconds(s.cpu_user_ns),
        ));
        cpu.push(counter(
            &[("comm", comm), ("mode", "system")],
            seconds(s.cpu_system_ns),
        ));
        durations.push(histogram(comm, s));
    }
    let host = &state.host;
    let lost = lost_kinds(&host.drops, host.commands_unseen)
        .into_iter()
        .map(|(kind, n)| counter(&[("kind", kind)], n as f64))
        .collect();
    vec![
        family(&EXITS, exits),
        family(&CPU, cpu),
        family(&DURATION, durations),
        family(&EXECS, vec![counter(&[], host.execs as f64)]),
        family(&LIVE, vec![gauge(&[], host.live as f64)]),
        family(&LOST, lost),
        family(&FOLDED, vec![counter(&[], state.folds as f64)]),
        family(
            &BUILD,
            vec![gauge(&[("version", env!("CARGO_PKG_VERSION"))], 1.0)],
        ),
    ]
}

/// The text exposition of a state alone (without the process metrics):
/// what a scrape costs, for the benchmark.
pub fn exposition(state: &State) -> Vec<u8> {
    use prometheus::Encoder;
    let mut out = Vec::new();
    // into memory: cannot fail
    let _ = prometheus::TextEncoder::new().encode(&families(state), &mut out);
    out
}

/// Every kind of loss, also those at zero, so a dashboard can alert on
/// any of them without knowing which have happened.
pub fn lost_kinds(d: &Drops, commands_unseen: u64) -> [(&'static str, u64); 8] {
    [
        ("exec_ringbuf", d.exec_ringbuf),
        ("exit_ringbuf", d.exit_ringbuf),
        ("exec_failed_ringbuf", d.exec_failed_ringbuf),
        ("fork_ringbuf", d.fork_ringbuf),
        ("pid_map_full", d.pid_map_full),
        ("traced_full", d.traced_full),
        ("undecodable", d.undecodable),
        // names taken in and evicted by the kernel between two reads:
        // their runs are in no series
        ("commands_unseen", commands_unseen),
    ]
}

fn seconds(ns: u64) -> f64 {
    ns as f64 / 1e9
}

fn family(f: &Family, metrics: Vec<Metric>) -> MetricFamily {
    let mut m = MetricFamily::default();
    m.set_name(f.name.into());
    m.set_help(f.help.into());
    m.set_field_type(f.kind);
    m.set_metric(metrics);
    m
}

fn labelled(labels: &[(&str, &str)]) -> Metric {
    let mut m = Metric::default();
    m.set_label(
        labels
            .iter()
            .map(|(name, value)| {
                let mut l = LabelPair::default();
                l.set_name(name.to_string());
                l.set_value(value.to_string());
                l
            })
            .collect(),
    );
    m
}

fn counter(labels: &[(&str, &str)], value: f64) -> Metric {
    let mut m = labelled(labels);
    let mut c = Counter::default();
    c.set_value(value);
    m.set_counter(c);
    m
}

fn gauge(labels: &[(&str, &str)], value: f64) -> Metric {
    let mut m = labelled(labels);
    let mut g = Gauge::default();
    g.set_value(value);
    m.set_gauge(g);
    m
}

/// A command's histogram: the kernel's bucket i counts durations from
/// bound i-1 up to (not including) bound i, so the cumulative count at a
/// bound is the sum of the buckets below it. A run that lasted a bound to
/// the nanosecond is counted in the next bucket up, where Prometheus's
/// `le` would count it in this one: a 1 ns difference.
fn histogram(comm: &str, s: &Series) -> Metric {
    let mut m = labelled(&[("comm", comm)]);
    let mut h = Histogram::default();
    let mut cumulative = 0u64;
    let mut next = 0usize;
    let mut buckets = Vec::with_capacity(EXPOSED_BOUNDS.len());
    for &at in &EXPOSED_BOUNDS {
        cumulative += s.durations[next..=at].iter().sum::<u64>();
        next = at + 1;
        let mut b = Bucket::default();
        b.set_upper_bound(seconds(DURATION_BOUNDS_NS[at]));
        b.set_cumulative_count(cumulative);
        buckets.push(b);
    }
    h.set_bucket(buckets);
    h.set_sample_count(s.durations.iter().sum());
    h.set_sample_sum(seconds(s.duration_ns));
    m.set_histogram(h);
    m
}

#[cfg(test)]
mod tests {
    use super::super::state::{HostTotals, Tick};
    use super::*;
    use crate::event::CommandTotals;
    use prometheus::{Encoder, TextEncoder};

    fn text(state: &State) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&families(state), &mut out)
            .expect("encode");
        String::from_utf8(out).expect("UTF-8")
    }

    fn one(comm: &str) -> CommandTotals {
        let mut t = CommandTotals::new(comm);
        t.runs = 3;
        t.outcomes[0] = 2;
        t.outcomes[10] = 1;
        t.cpu_ns = 3_000_000_000;
        t.cpu_user_ns = 2_000_000_000;
        t.cpu_system_ns = 1_000_000_000;
        t.duration_ns = 60_000;
        t.durations[0] = 1; // under 10 us
        t.durations[5] = 1; // 25-31.5 us: above the 25 us bound
        t.durations[71] = 1; // 100 s or more
        t
    }

    #[test]
    fn the_exposition_holds_every_family_with_exact_values() {
        let mut state = State::new(10);
        state.apply(&Tick {
            seconds: 1.0,
            growth: vec![one("make")],
            host: HostTotals {
                execs: 42,
                live: 7,
                drops: Drops {
                    exit_ringbuf: 3,
                    ..Drops::default()
                },
                commands_unseen: 2,
            },
        });
        let t = text(&state);
        for line in [
            r#"tracer_tui_process_exits_total{comm="make",outcome="success"} 2"#,
            r#"tracer_tui_process_exits_total{comm="make",outcome="failure"} 0"#,
            r#"tracer_tui_process_exits_total{comm="make",outcome="signal"} 1"#,
            r#"tracer_tui_process_cpu_seconds_total{comm="make",mode="user"} 2"#,
            r#"tracer_tui_process_cpu_seconds_total{comm="make",mode="system"} 1"#,
            r#"tracer_tui_process_duration_seconds_bucket{comm="make",le="0.00001"} 1"#,
            r#"tracer_tui_process_duration_seconds_bucket{comm="make",le="0.000025"} 1"#,
            r#"tracer_tui_process_duration_seconds_bucket{comm="make",le="0.00005"} 2"#,
            r#"tracer_tui_process_duration_seconds_bucket{comm="make",le="50"} 2"#,
            r#"tracer_tui_process_duration_seconds_bucket{comm="make",le="100"} 2"#,
            r#"tracer_tui_process_duration_seconds_bucket{comm="make",le="+Inf"} 3"#,
            r#"tracer_tui_process_duration_seconds_sum{comm="make"} 0.00006"#,
            r#"tracer_tui_process_duration_seconds_count{comm="make"} 3"#,
            "tracer_tui_execs_total 42",
            "tracer_tui_live_processes 7",
            r#"tracer_tui_events_lost_total{kind="exit_ringbuf"} 3"#,
            r#"tracer_tui_events_lost_total{kind="commands_unseen"} 2"#,
            r#"tracer_tui_events_lost_total{kind="fork_ringbuf"} 0"#,
            "tracer_tui_commands_folded_total 0",
        ] {
            assert!(t.lines().any(|l| l == line), "no line {line} in\n{t}");
        }
        // 22 bounds and +Inf
        let buckets = r#"tracer_tui_process_duration_seconds_bucket{comm="make""#;
        assert_eq!(t.matches(buckets).count(), 23);
    }

    #[test]
    fn hostile_names_are_escaped_and_cannot_break_a_line() {
        let mut state = State::new(10);
        // as the kernel's names reach here: control characters already
        // made visible escapes (a backslash), quotes and backslashes as is
        let hostile = ["a\"b", "back\\slash", "\\x0a}{x=\"1\"", "tab\\x09", "ünï"];
        state.apply(&Tick {
            seconds: 1.0,
            growth: hostile.iter().map(|n| one(n)).collect(),
            host: HostTotals::default(),
        });
        let t = text(&state);
        assert!(t.contains(r#"comm="a\"b""#), "{t}");
        assert!(t.contains(r#"comm="back\\slash""#), "{t}");
        assert!(t.contains(r#"comm="\\x0a}{x=\"1\"""#), "{t}");
        // each sample line is name{labels} value: no label value ends early
        for line in t.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok() || value == "+Inf", "{line}");
        }
    }
}
