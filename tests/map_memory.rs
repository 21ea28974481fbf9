//! The kernel memory tracer-tui's BPF maps lock, read from the kernel's own
//! accounting (/proc/PID/fdinfo of the map fds), as a person would check it.

mod common;

/// (map type, max entries, flags, memlock bytes) of each BPF map `pid` holds.
fn maps(pid: u32) -> Vec<(u32, u64, u64, u64)> {
    let mut out = Vec::new();
    let dir = format!("/proc/{pid}/fdinfo");
    for entry in std::fs::read_dir(&dir).expect("fdinfo").flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim())
                .map(|v| {
                    let hex = v.strip_prefix("0x");
                    hex.map_or_else(|| v.parse().ok(), |h| u64::from_str_radix(h, 16).ok())
                })
        };
        if let (Some(Some(kind)), Some(Some(max)), Some(Some(flags)), Some(Some(memlock))) = (
            field("map_type:"),
            field("max_entries:"),
            field("map_flags:"),
            field("memlock:"),
        ) {
            out.push((kind as u32, max, flags, memlock));
        }
    }
    out
}

#[test]
fn the_pid_map_is_allocated_as_processes_arrive() {
    let Some(_serial) = common::bpf_test("the_pid_map_is_allocated_as_processes_arrive") else {
        return;
    };
    let tracer = common::JsonTracer::start(&[]);
    let maps = maps(tracer.child.id());
    tracer.stop();
    let total: u64 = maps.iter().map(|m| m.3).sum();
    eprintln!(
        "BPF maps lock {:.1} MiB: {maps:?}",
        total as f64 / (1 << 20) as f64
    );
    // the hash of exec records (type 1, 65,536 entries): not preallocated,
    // so it holds what the host's live processes need, not 57 MiB
    let pids = maps
        .iter()
        .find(|m| m.0 == 1 && m.1 == 65_536)
        .expect("the pid map");
    assert_eq!(pids.2 & 1, 1, "BPF_F_NO_PREALLOC not set: {pids:?}");
    let live = std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .count() as u64;
    // buckets (16 bytes each) plus, generously, 2 KiB a live process
    assert!(
        pids.3 <= 65_536 * 16 + live * 2048,
        "{} bytes for {live} live processes",
        pids.3
    );
}
