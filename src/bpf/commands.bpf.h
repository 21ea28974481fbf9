/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-command totals, kept by the exit program: included once, from
 * tracer.bpf.c. Bucket bounds and outcome slots are those of
 * src/event/commands.rs.
 */
#ifndef __COMMANDS_BPF_H
#define __COMMANDS_BPF_H

/*
 * Per-command totals. LRU: a host that runs endless distinct names evicts
 * the least recently ended command rather than failing to count new ones;
 * user space, reading every second, notices an eviction (the name is gone,
 * or its counts fell) and keeps its totals. Runs counted after its last
 * read, and names taken in and evicted between two reads, are lost.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct command_key);
	__type(value, struct command_stats);
} commands SEC(".maps");

/*
 * The duration histogram's bucket bounds: DURATION_BOUNDS_NS in
 * src/event/commands.rs (R10 series, 10 us to 100 s); a test reads this
 * table back and compares.
 */
const volatile __u64 duration_bounds[DURATION_BUCKETS - 1] = {
	10000ULL, 12500ULL, 16000ULL, 20000ULL, 25000ULL,
	31500ULL, 40000ULL, 50000ULL, 63000ULL, 80000ULL,
	100000ULL, 125000ULL, 160000ULL, 200000ULL, 250000ULL,
	315000ULL, 400000ULL, 500000ULL, 630000ULL, 800000ULL,
	1000000ULL, 1250000ULL, 1600000ULL, 2000000ULL, 2500000ULL,
	3150000ULL, 4000000ULL, 5000000ULL, 6300000ULL, 8000000ULL,
	10000000ULL, 12500000ULL, 16000000ULL, 20000000ULL, 25000000ULL,
	31500000ULL, 40000000ULL, 50000000ULL, 63000000ULL, 80000000ULL,
	100000000ULL, 125000000ULL, 160000000ULL, 200000000ULL, 250000000ULL,
	315000000ULL, 400000000ULL, 500000000ULL, 630000000ULL, 800000000ULL,
	1000000000ULL, 1250000000ULL, 1600000000ULL, 2000000000ULL, 2500000000ULL,
	3150000000ULL, 4000000000ULL, 5000000000ULL, 6300000000ULL, 8000000000ULL,
	10000000000ULL, 12500000000ULL, 16000000000ULL, 20000000000ULL, 25000000000ULL,
	31500000000ULL, 40000000000ULL, 50000000000ULL, 63000000000ULL, 80000000000ULL,
	100000000000ULL,
};

/* A new command's first value: too large for the 512-byte stack. */
const struct command_stats zero_stats = {};

/* The number of bounds at or below ns: a binary search in 7 fixed steps. */
/* Entries inserted into the commands map since load (read through .bss). */
__u64 commands_inserted = 0;

static __always_inline __u32 duration_bucket(__u64 ns)
{
	__u32 b = 0, idx;

#pragma unroll
	for (__u32 step = 64; step; step >>= 1) {
		idx = b + step - 1;
		if (idx < DURATION_BUCKETS - 1 && duration_bounds[idx] <= ns)
			b = idx + 1;
	}
	return b < DURATION_BUCKETS ? b : DURATION_BUCKETS - 1;
}

/* outcome_slot in src/event/commands.rs, on the wait(2)-form status. */
static __always_inline __u32 outcome_slot(__u32 status)
{
	__u32 sig = status & 0x7f;

	if (!sig) {
		switch ((status >> 8) & 0xff) {
		case 0: return 0;
		case 1: return 1;
		case 2: return 2;
		case 126: return 3;
		case 127: return 4;
		default: return 5;
		}
	}
	switch (sig) {
	case 1: return 6;
	case 2: return 7;
	case 3: return 8;
	case 6: return 9;
	case 9: return 10;
	case 11: return 11;
	case 13: return 12;
	case 15: return 13;
	default: return 14;
	}
}

/*
 * Raises *p to v. Another CPU may raise it between the read and the swap:
 * then the swap fails, returns what is there now, and we compare again.
 * Each failure means another CPU raised it meanwhile; after four in a row
 * (five CPUs ending the same command at once) this one's value is let go.
 * clang emits BPF_CMPXCHG at its default -mcpu (kernel 5.12+; the program
 * already needs 5.15 for bpf_task_pt_regs).
 */
static __always_inline void atomic_max(__u64 *p, __u64 v)
{
	__u64 old = *(volatile __u64 *)p;

	/* a bounded loop: the verifier walks its four turns */
	for (int i = 0; i < 4 && v > old; i++) {
		__u64 seen = __sync_val_compare_and_swap(p, old, v);

		if (seen == old)
			break;
		old = seen;
	}
}

/*
 * The system part of a run's precise CPU time, in the proportion of its
 * tick-sampled stime to utime + stime, as the kernel's cputime_adjust
 * splits it for getrusage (src/event.rs split_cpu does the same). The
 * ratio is scaled to 16 bits first, so neither product below can
 * overflow: the result is within 1/16384 of the exact share.
 */
static __always_inline __u64 system_share(__u64 runtime, __u64 utime, __u64 stime)
{
	__u64 total;

	if (!stime)
		return 0;
	if (!utime)
		return runtime;
	/* shift both right until their sum is under 2^16 (it had at most 64
	 * bits: at most 48 places), in fixed steps of 32, 16, 8, 4, 2, 1 */
#pragma unroll
	for (int step = 32; step; step >>= 1) {
		if ((utime + stime) >> (15 + step)) {
			utime >>= step;
			stime >>= step;
		}
	}
	total = utime + stime;
	if (!total)
		return 0;
	return runtime / total * stime + runtime % total * stime / total;
}

/* Adds one ended process to its command's totals. */
static __always_inline void count_command(const struct command_key *key, __u32 status,
					  __u64 duration, const struct usage *u)
{
	struct command_stats *c = bpf_map_lookup_elem(&commands, key);
	__u32 sig = status & 0x7f;
	__u64 system_ns;

	if (!c) {
		/* EEXIST when another CPU inserted it first: either way, look
		 * again. Inserts are counted so user space can tell how many
		 * names came and were evicted between two of its reads. */
		if (bpf_map_update_elem(&commands, key, &zero_stats, BPF_NOEXIST) == 0)
			__sync_fetch_and_add(&commands_inserted, 1);
		c = bpf_map_lookup_elem(&commands, key);
		if (!c)
			return;
	}
	__sync_fetch_and_add(&c->runs, 1);
	/* a non-zero exit code or a signal */
	if (status & 0xff7f)
		__sync_fetch_and_add(&c->failed, 1);
	system_ns = system_share(u->runtime_ns, u->utime_ns, u->stime_ns);
	__sync_fetch_and_add(&c->cpu_ns, u->runtime_ns);
	__sync_fetch_and_add(&c->user_ns, u->runtime_ns - system_ns);
	__sync_fetch_and_add(&c->system_ns, system_ns);
	__sync_fetch_and_add(&c->duration_ns, duration);
	atomic_max(&c->max_duration_ns, duration);
	atomic_max(&c->max_rss_pages, u->maxrss_pages);
	__sync_fetch_and_add(&c->outcomes[outcome_slot(status) & (OUTCOME_SLOTS - 1)], 1);
	if (sig && (status & 0x80))
		__sync_fetch_and_add(&c->outcomes[OUTCOME_CORE], 1);
	__sync_fetch_and_add(&c->durations[duration_bucket(duration)], 1);
}

#endif /* __COMMANDS_BPF_H */
