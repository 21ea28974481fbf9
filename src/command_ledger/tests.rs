use super::*;

fn cmd(comm: &str, runs: u64) -> CommandTotals {
    let mut t = CommandTotals::new(comm);
    t.runs = runs;
    t.cpu_ns = runs * 10;
    t.max_rss_kib = 100 + runs;
    t.outcomes[0] = runs;
    t.durations[3] = runs;
    t
}

fn runs(update: &CommandUpdate) -> Vec<(String, u64)> {
    let mut v: Vec<_> = update
        .changed
        .iter()
        .map(|t| (t.comm.clone(), t.runs))
        .collect();
    v.sort();
    v
}

fn owned(v: &[(&str, u64)]) -> Vec<(String, u64)> {
    v.iter().map(|&(c, n)| (c.to_string(), n)).collect()
}

#[test]
fn the_first_read_sends_everything_then_only_changes() {
    let mut l = CommandLedger::default();
    let u = l
        .update(&[], WallTime(4))
        .expect("an update: something changed");
    assert!(u.changed.is_empty());
    let u = l
        .update(&[cmd("sh", 3), cmd("cc", 1)], WallTime(5))
        .expect("an update: something changed");
    assert_eq!(u.at, WallTime(5));
    assert_eq!(runs(&u), owned(&[("cc", 1), ("sh", 3)]));
    assert_eq!(u.restarted, 0);
    // nothing happened: nothing is sent
    assert_eq!(l.update(&[cmd("cc", 1), cmd("sh", 3)], WallTime(6)), None);
    let u = l
        .update(&[cmd("cc", 1), cmd("sh", 4)], WallTime(7))
        .expect("an update: something changed");
    assert_eq!(runs(&u), owned(&[("sh", 4)]));
    assert_eq!(u.changed[0], cmd("sh", 4));
    // a key the kernel inserted but has not counted yet
    assert_eq!(
        l.update(&[cmd("cc", 1), cmd("sh", 4), cmd("new", 0)], WallTime(8)),
        None
    );
}

#[test]
fn an_evicted_command_keeps_its_totals_and_counts_on() {
    let mut l = CommandLedger::default();
    l.update(&[cmd("make", 50), cmd("cc", 7)], WallTime(1));
    // counts fell: the kernel evicted make and began again
    let u = l
        .update(&[cmd("make", 2), cmd("cc", 7)], WallTime(2))
        .expect("an update: something changed");
    assert_eq!(u.restarted, 1);
    let make = &u.changed[0];
    assert_eq!((make.runs, make.cpu_ns, make.max_rss_kib), (52, 520, 150));
    assert_eq!(make.durations.iter().sum::<u64>(), 52);
    // gone from the map: evicted; its totals stand, nothing new to send
    let u = l
        .update(&[cmd("make", 3)], WallTime(3))
        .expect("an update: something changed");
    assert_eq!((u.restarted, runs(&u)), (1, owned(&[("make", 53)])));
    assert_eq!(l.update(&[cmd("make", 3)], WallTime(4)), None);
    // back, counted afresh from one
    let u = l
        .update(&[cmd("make", 3), cmd("cc", 1)], WallTime(5))
        .expect("an update: something changed");
    assert_eq!((u.restarted, runs(&u)), (0, owned(&[("cc", 8)])));
    // only one count falling is enough to tell
    let mut m = cmd("make", 4);
    m.durations[3] = 0;
    m.durations[4] = 4;
    let u = l
        .update(&[m, cmd("cc", 1)], WallTime(6))
        .expect("an update: something changed");
    assert_eq!((u.restarted, runs(&u)), (1, owned(&[("make", 57)])));
}

#[test]
fn growth_adds_up_to_the_totals_across_evictions() {
    let mut l = CommandLedger::default();
    l.update(&[cmd("make", 5)], WallTime(0));
    // not kept yet
    assert!(l.take_growth().is_empty());
    l.keep_growth();
    l.update(&[cmd("make", 8), cmd("cc", 2)], WallTime(1));
    let mut g: Vec<_> = l
        .take_growth()
        .iter()
        .map(|t| (t.comm.clone(), t.runs, t.cpu_ns))
        .collect();
    g.sort();
    assert_eq!(g, vec![("cc".into(), 2, 20), ("make".into(), 3, 30)]);
    // taken: nothing twice
    assert!(l.take_growth().is_empty());
    // make evicted and counted afresh: it grew by its whole new count
    l.update(&[cmd("make", 1), cmd("cc", 2)], WallTime(2));
    let g = l.take_growth();
    assert_eq!((g.len(), g[0].runs, g[0].outcomes[0]), (1, 1, 1));
    // an unchanged read adds nothing
    l.update(&[cmd("make", 1), cmd("cc", 2)], WallTime(3));
    assert!(l.take_growth().is_empty());
}

#[test]
fn names_that_show_alike_are_counted_apart_and_shown_added_up() {
    // an escape byte and a typed-out \x1b both show as `\x1b`
    let raw = |key: &[u8], runs: u64| {
        let mut t = cmd("\\x1b", runs);
        t.key = key.to_vec();
        t
    };
    let mut l = CommandLedger::default();
    l.keep_growth();
    let u = l
        .update(&[raw(b"\x1b", 5), raw(b"\\x1b", 3)], WallTime(1))
        .expect("an update: something changed");
    assert_eq!(runs(&u), owned(&[("\\x1b", 8)]));
    let g: u64 = l.take_growth().iter().map(|t| t.runs).sum();
    assert_eq!(g, 8);
    // the kernel evicts one: the other's counts are not taken anew
    let u = l
        .update(&[raw(b"\\x1b", 4)], WallTime(2))
        .expect("an update: something changed");
    assert_eq!((u.restarted, runs(&u)), (1, owned(&[("\\x1b", 9)])));
    let g: Vec<u64> = l.take_growth().iter().map(|t| t.runs).collect();
    assert_eq!(g, vec![1]);
    // the evicted one back, counted afresh
    let u = l
        .update(&[raw(b"\x1b", 1), raw(b"\\x1b", 4)], WallTime(3))
        .expect("an update: something changed");
    assert_eq!(runs(&u), owned(&[("\\x1b", 10)]));
    let g: Vec<u64> = l.take_growth().iter().map(|t| t.runs).collect();
    assert_eq!(g, vec![1]);
}

#[test]
fn memory_is_bounded_forgetting_idle_commands_first() {
    let mut l = CommandLedger::new(8);
    let names: Vec<String> = (0..20).map(|i| format!("c{i:02}")).collect();
    // each read holds two names: the older ones are evicted
    for pair in names.chunks(2) {
        l.update(
            &pair.iter().map(|n| cmd(n, 1)).collect::<Vec<_>>(),
            WallTime(0),
        );
        assert!(l.len() <= 8, "{}", l.len());
    }
    let held = |comm: &str| l.entries.contains_key(comm.as_bytes());
    assert!(held("c19") && held("c18"));
    assert!(!held("c00"));
    assert_eq!(l.shown.len(), l.entries.len());
    // those still in the kernel's map are never forgotten
    let all: Vec<_> = names.iter().map(|n| cmd(n, 2)).collect();
    l.update(&all, WallTime(0));
    assert_eq!(l.len(), 20);
}

#[test]
fn names_inserted_and_evicted_between_reads_are_counted_unseen() {
    let mut l = CommandLedger::default();
    let read = |l: &mut CommandLedger, inserted: u64, entries: Vec<CommandTotals>| {
        l.refresh(WallTime(1), inserted, |out: &mut Vec<CommandTotals>| {
            *out = entries;
            Ok::<(), ()>(())
        })
        .expect("a read that cannot fail")
    };
    let u = read(&mut l, 2, vec![cmd("a", 1), cmd("b", 1)]).expect("an update: something changed");
    assert_eq!(u.unseen, 0);
    // three more inserted; one found, one not counted yet, one gone
    let mut fresh = cmd("d", 0);
    fresh.runs = 0;
    let u = read(
        &mut l,
        5,
        vec![cmd("a", 1), cmd("b", 1), cmd("c", 1), fresh],
    )
    .expect("an update: something changed");
    assert_eq!((u.unseen, runs(&u)), (1, owned(&[("c", 1)])));
    // the one not counted yet is found: nothing more unseen, nothing sent
    let u = read(
        &mut l,
        5,
        vec![cmd("a", 1), cmd("b", 1), cmd("c", 1), cmd("d", 1)],
    );
    assert_eq!(
        u.map(|u| (u.unseen, runs(&u))),
        Some((1, owned(&[("d", 1)])))
    );
    assert!(read(
        &mut l,
        5,
        vec![cmd("a", 1), cmd("b", 1), cmd("c", 1), cmd("d", 1)]
    )
    .is_none());
}
