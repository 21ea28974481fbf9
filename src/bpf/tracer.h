/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one definition of what crosses the kernel/user boundary. Rust reads
 * these through the types libbpf-cargo generates from the BPF object's BTF.
 * Fixed-width unsigned types only: a C char[] would become [i8; N] in Rust.
 */
#ifndef __TRACER_H
#define __TRACER_H

#define TASK_COMM_LEN 16
#define FILENAME_MAX_LEN 256
/* argv bytes kept per process: NUL-separated, as in /proc/PID/cmdline */
#define ARGS_MAX_LEN 512

enum event_kind {
	EVENT_EXEC = 1,
	EVENT_EXIT = 2,
	/* an execve/execveat that returned an error: an exec_record with error set */
	EVENT_EXEC_FAILED = 3,
	/* a new process (not a thread): a fork_event */
	EVENT_FORK = 4,
	/* a process ended whose exit the min-duration filter kept back: an ended_event */
	EVENT_ENDED = 5,
};

/* The most arguments a failed exec's event keeps, and bytes per argument. */
#define FAILED_ARGS_MAX 16
#define FAILED_ARG_LEN 128

/* exec_record.flags */
enum record_flags {
	RECORD_ARGS_TRUNCATED = 1,
	RECORD_FILENAME_TRUNCATED = 2,
	/* seeded by user space from /proc at startup, not seen exec'ing */
	RECORD_FROM_PROC = 4,
	/* its exec event was lost (ring buffer full): send it again at exit */
	RECORD_UNSENT = 8,
	/* the pid map was full: this exec event's record is not in it */
	RECORD_NOT_KEPT = 16,
	/* made at fork, not exec: the process runs its parent's image */
	RECORD_FORKED = 32,
};

/*
 * A live process's exec record: the pid map's value and the exec event; also
 * the failed-exec event. data holds filename_len bytes of filename (with its
 * NUL) followed by args_len bytes of argv. An event carries only the used
 * part of data, so its length varies; the map always stores the whole struct.
 */
struct exec_record {
	__u32 kind;
	__u32 pid;
	__u32 ppid;
	__u32 uid;
	/* CLOCK_BOOTTIME of the process's start (its fork): with pid, it tells
	 * one process from another, and stays the same across its execs */
	__u64 start_ns;
	__u64 exec_ns; /* CLOCK_BOOTTIME of this exec (or failed attempt) */
	__u64 cgroup_id;
	__s32 error; /* EVENT_EXEC_FAILED: the errno */
	__u32 flags;
	__u16 filename_len;
	__u16 args_len;
	__u8 comm[TASK_COMM_LEN];
	__u8 data[FILENAME_MAX_LEN + ARGS_MAX_LEN];
};

/* exit_event.flags */
enum exit_flags {
	/* start_ns came from the pid map (exec time), not the task's start */
	EXIT_HAD_RECORD = 1,
	/* the kernel has no per-task I/O accounting: read/write bytes unknown */
	EXIT_NO_IOAC = 2,
};

/*
 * What the whole process used (all its threads, not its children), as
 * wait4(2)'s rusage reports it: the signal struct's totals of threads that
 * ended earlier plus the last thread's own. Raw kernel units; user space
 * converts (page size) and splits the CPU time (cputime_adjust) to keep the
 * exit program cheap.
 */
struct usage {
	__u64 runtime_ns; /* precise CPU time: sum_sched_runtime + se.sum_exec_runtime */
	__u64 utime_ns; /* tick-sampled user time, for the split only */
	__u64 stime_ns; /* tick-sampled system time, for the split only */
	__u64 min_flt;
	__u64 maj_flt;
	__u64 read_bytes; /* storage I/O (ioac), not read(2) calls */
	__u64 write_bytes;
	__u64 nvcsw;
	__u64 nivcsw;
	__u64 maxrss_pages; /* peak RSS, folded into signal->maxrss by do_exit */
};

struct exit_event {
	__u32 kind;
	__u32 pid;
	__u32 ppid;
	__u32 uid;
	__u32 exit_status; /* wait(2) status form: code << 8 | core 0x80 | signal */
	/* the parent its children get now (init or a subreaper); 0: it had none */
	__u32 reaper;
	__u64 start_ns;
	__u64 exit_ns;
	__u32 flags;
	/* the process's name: its thread-group leader's */
	__u8 comm[TASK_COMM_LEN];
	/* the name of the thread whose exit ended the process */
	__u8 thread_comm[TASK_COMM_LEN];
	struct usage usage;
};

/*
 * A new process, sent from the fork tracepoint. User space gives it its
 * parent's command line: a child runs its parent's image until it execs.
 */
struct fork_event {
	__u32 kind;
	__u32 pid; /* the child's process id (tgid) */
	__u32 ppid; /* real_parent's tgid: the right one under CLONE_PARENT */
	__u32 uid;
	__u64 start_ns; /* the child's start_boottime */
	__u8 comm[TASK_COMM_LEN];
	__u32 flags; /* RECORD_NOT_KEPT: the pid map was full */
};

/*
 * A process ended whose exit the min-duration filter keeps off the
 * finished list: sent so the live table still learns of every end.
 */
struct ended_event {
	__u32 kind;
	__u32 pid;
	__u32 reaper; /* as in exit_event */
	__u32 flags; /* exit_flags */
	__u64 start_ns;
	__u64 exit_ns;
};

/*
 * Per-command totals, keyed by the process name at exec (the pid map
 * record's comm, or the leader's when the process was not seen exec'ing).
 * The exit program adds each process before the min-duration filter, so
 * they count every process. Bucket bounds and outcome slots are defined in
 * src/event/commands.rs; a test keeps the kernel's equal to them.
 */
#define DURATION_BUCKETS 72
#define OUTCOME_SLOTS 16
/* the slot counting core dumps, also counted under their signal */
#define OUTCOME_CORE 15

struct command_key {
	__u8 comm[TASK_COMM_LEN];
};

struct command_stats {
	__u64 runs;
	__u64 failed; /* non-zero exits and signals */
	__u64 cpu_ns; /* usage.runtime_ns of all runs */
	/*
	 * each run's cpu_ns split by its utime:stime ticks, each part added on
	 * its own, so that each only grows as a reader sees it (a reader may
	 * see cpu_ns before the parts)
	 */
	__u64 user_ns;
	__u64 system_ns;
	__u64 duration_ns; /* sum of the runs' durations */
	__u64 max_duration_ns;
	__u64 max_rss_pages;
	__u64 outcomes[OUTCOME_SLOTS];
	__u64 durations[DURATION_BUCKETS];
};

/* The runtime settings map's one value, read by the exit program. */
struct settings {
	__u64 min_duration_ns;
};

/* Indexes of the per-CPU drop counters. */
enum drop_counter {
	DROP_EXEC_RINGBUF = 0,
	DROP_EXIT_RINGBUF = 1,
	DROP_PID_MAP_FULL = 2,
	/* exec events lost at exec but delivered at exit after all */
	DROP_EXEC_RECOVERED = 3,
	/* failed-exec events lost because the ring buffer was full */
	DROP_EXEC_FAILED_RINGBUF = 4,
	/* fork events lost because the ring buffer was full */
	DROP_FORK_RINGBUF = 5,
	/* children of traced processes not traced: the traced set was full */
	DROP_TRACED_FULL = 6,
	DROP_COUNTERS = 7,
};

/* Indexes of the per-CPU totals: what happened, not what was lost. */
enum total_counter {
	TOTAL_EXECS = 0, /* successful execs of traced processes */
	TOTAL_COUNTERS = 1,
};

#endif /* __TRACER_H */
