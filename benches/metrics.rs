//! The exporter's cost: a scrape's encoding and a second's update, at the
//! default 500 named commands and past it. Prints figures, asserts nothing.
//! Run with `cargo bench --bench metrics`.

use std::time::{Duration, Instant};

use tracer_tui::event::CommandTotals;
use tracer_tui::metrics::{exposition, HostTotals, State, Tick};

fn totals(name: &str, runs: u64) -> CommandTotals {
    let mut t = CommandTotals::new(name);
    t.runs = runs;
    t.outcomes[0] = runs;
    t.cpu_ns = runs * 1_000_000;
    t.cpu_user_ns = runs * 700_000;
    t.cpu_system_ns = runs * 300_000;
    t.duration_ns = runs * 5_000_000;
    t.durations[(runs % 72) as usize] = runs;
    t
}

fn tick(seconds: f64, names: impl Iterator<Item = String>) -> Tick {
    Tick {
        seconds,
        growth: names
            .enumerate()
            .map(|(i, n)| totals(&n, 1 + i as u64 % 50))
            .collect(),
        host: HostTotals::default(),
    }
}

/// The median of `rounds` timings of `f`.
fn median(rounds: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[rounds / 2]
}

fn main() {
    for (cap, names) in [(500, 500), (500, 8_192), (100, 1_000), (5_000, 5_000)] {
        let mut state = State::new(cap);
        state.apply(&tick(0.0, (0..names).map(|i| format!("cmd{i}"))));
        let mut i = 0;
        // a second's update in which every name the kernel holds ran
        let update = median(21, || {
            i += 1;
            state.apply(&tick(
                i as f64,
                (0..names).map(|n| format!("cmd{}", (n + i) % names)),
            ));
        });
        let body = exposition(&state);
        let encode = median(21, || {
            std::hint::black_box(exposition(&state));
        });
        println!(
            "cap {cap:>5}, {names:>5} names: series {:>5}, scrape body {:>6} KiB, encode {:>7.2?}, \
             a second's update of {names} names {:>7.2?}",
            state.named_count() + 1,
            body.len() / 1024,
            encode,
            update,
        );
    }
}
