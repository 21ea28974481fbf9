// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel side of tracer-tui: records every new process (at fork) and
 * every exec in a pid map, sends fork, exec and exit events through a ring
 * buffer, and adds every ended process to its command's totals.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "tracer.h"

char LICENSE[] SEC("license") = "GPL";

#define EEXIST 17

/* Unread bytes in the ring buffer above which a submit wakes the reader. */
const volatile __u64 wakeup_threshold = 256 * 1024;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024 * 1024);
} events SEC(".maps");

/*
 * The live-process table: one exec record per process id. Allocated as
 * processes arrive, not up front: preallocated, its 65,536 records of 840
 * bytes locked 57 MiB on an idle host that holds a few hundred.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct exec_record);
} pids SEC(".maps");

/* Not called "config": that name clashes inside the generated skeleton. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct settings);
} settings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DROP_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/* per-CPU, so counting an exec never bounces a cache line between CPUs */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TOTAL_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} totals SEC(".maps");

/*
 * An exec record is too large for the 512-byte BPF stack. Slot 0 is the
 * exec program's, slot 1 the failed-exec program's, slot 2 the fork
 * program's, so they never share.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, struct exec_record);
} scratch SEC(".maps");

#include "commands.bpf.h"

/* Anchors for BTF, so the skeleton generates Rust types for these. */
struct exec_record _exec_record = {};
struct exit_event _exit_event = {};
struct fork_event _fork_event = {};
struct ended_event _ended_event = {};
enum event_kind _event_kind = 0;
enum record_flags _record_flags = 0;
enum exit_flags _exit_flags = 0;
enum drop_counter _drop_counter = 0;
enum total_counter _total_counter = 0;

/*
 * The process's resource use at its last thread's exit (t, current): threads
 * that ended earlier are summed in the signal struct; add this thread's own.
 */
static __always_inline void read_usage(struct task_struct *t, struct usage *u, __u32 *flags)
{
	struct signal_struct *sig = t->signal;

	u->runtime_ns = sig->sum_sched_runtime + t->se.sum_exec_runtime;
	u->utime_ns = sig->utime + t->utime;
	u->stime_ns = sig->stime + t->stime;
	u->min_flt = sig->min_flt + t->min_flt;
	u->maj_flt = sig->maj_flt + t->maj_flt;
	u->nvcsw = sig->nvcsw + t->nvcsw;
	u->nivcsw = sig->nivcsw + t->nivcsw;
	u->maxrss_pages = sig->maxrss;
	if (bpf_core_field_exists(t->ioac)) {
		u->read_bytes = sig->ioac.read_bytes + t->ioac.read_bytes;
		u->write_bytes = sig->ioac.write_bytes + t->ioac.write_bytes;
	} else {
		u->read_bytes = 0;
		u->write_bytes = 0;
		*flags |= EXIT_NO_IOAC;
	}
}

static __always_inline void count_drop(__u32 counter)
{
	__u64 *n = bpf_map_lookup_elem(&drops, &counter);

	if (n)
		*n += 1;
}

static __always_inline void count_total(__u32 counter)
{
	__u64 *n = bpf_map_lookup_elem(&totals, &counter);

	if (n)
		*n += 1;
}

#include "scope.bpf.h"

#include "lineage.bpf.h"

/*
 * Wake the reader only when data piles up: a wakeup per event costs more
 * than the rest of the program. User space drains on a short timer too.
 */
static __always_inline __u64 wakeup_flag(void)
{
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_threshold)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

/* An exec event carries only the used part of data. */
static __always_inline __u64 record_size(struct exec_record *r)
{
	__u64 n = __builtin_offsetof(struct exec_record, data) + r->filename_len + r->args_len;

	return n > sizeof(*r) ? sizeof(*r) : n;
}

/*
 * A task's comm, in two 8-byte BTF loads rather than a helper call: the
 * kernel keeps comm NUL-padded (set_task_comm pads), and user space cuts
 * at the first NUL anyway.
 */
static __always_inline void copy_comm(__u8 *dst, const char *src)
{
	((__u64 *)dst)[0] = ((const __u64 *)src)[0];
	((__u64 *)dst)[1] = ((const __u64 *)src)[1];
}

SEC("raw_tp/sched_process_fork")
int handle_fork(struct bpf_raw_tracepoint_args *ctx)
{
	/* the forking thread is current: its fields are BTF loads; the child
	 * comes as a plain pointer, read with probe reads */
	struct task_struct *child = (struct task_struct *)ctx->args[1];
	struct task_struct *cur = bpf_get_current_task_btf();
	struct exec_record *r;
	struct fork_event *e;
	__u32 slot = 2, pid, ppid, flags = 0;
	__u64 start;
	long err;

	/* a new thread joins its process: only a new process counts */
	pid = BPF_CORE_READ(child, tgid);
	if (BPF_CORE_READ(child, pid) != pid)
		return 0;
	/* kthreadd's children are kernel threads, never exec'd */
	if (BPF_CORE_READ(child, flags) & PF_KTHREAD)
		return 0;
	/* not always current's process: CLONE_PARENT makes it a sibling */
	ppid = BPF_CORE_READ(child, real_parent, tgid);
	if (!trace_child(cur->tgid, ppid, pid))
		return 0;
	start = BPF_CORE_READ(child, start_boottime);

	/*
	 * Its record from birth, so the pid map holds every process begun
	 * since tracing began, also those that never exec. NOEXIST: a record
	 * user space seeded from /proc meanwhile is not overwritten.
	 */
	r = bpf_map_lookup_elem(&scratch, &slot);
	if (r) {
		r->kind = EVENT_EXEC;
		r->pid = pid;
		r->ppid = ppid;
		/* the child has current's credentials, cgroup and name */
		r->uid = (__u32)bpf_get_current_uid_gid();
		r->start_ns = start;
		r->exec_ns = start;
		r->cgroup_id = bpf_get_current_cgroup_id();
		r->error = 0;
		r->flags = RECORD_FORKED;
		r->filename_len = 0;
		r->args_len = 0;
		copy_comm(r->comm, cur->comm);
		err = bpf_map_update_elem(&pids, &pid, r, BPF_NOEXIST);
		if (err == -EEXIST) {
			struct exec_record *old = bpf_map_lookup_elem(&pids, &pid);

			/* another start: a dead process's record left behind (its
			 * exit came before the exit program was attached); this
			 * fork is right about who has the pid now */
			if (old && old->start_ns != start)
				err = bpf_map_update_elem(&pids, &pid, r, BPF_EXIST);
			else
				err = 0;
		}
		if (err < 0) {
			count_drop(DROP_PID_MAP_FULL);
			flags = RECORD_NOT_KEPT;
		}
	}

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop(DROP_FORK_RINGBUF);
		return 0;
	}
	e->kind = EVENT_FORK;
	e->pid = pid;
	e->ppid = ppid;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->start_ns = start;
	e->flags = flags;
	copy_comm(e->comm, cur->comm);
	bpf_ringbuf_submit(e, wakeup_flag());
	return 0;
}

SEC("raw_tp/sched_process_exec")
int handle_exec(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *task = (struct task_struct *)ctx->args[0];
	struct linux_binprm *bprm = (struct linux_binprm *)ctx->args[2];
	struct exec_record *r;
	unsigned long arg_start, arg_end;
	__u32 zero = 0, pid;
	long n, args_len;
	bool in_place;

	/* after exec a non-leader thread has taken over the process id */
	pid = bpf_get_current_pid_tgid() >> 32;
	if (untraced(pid))
		return 0;
	count_total(TOTAL_EXECS);
	/*
	 * The record made at fork (or seeded, or at an earlier exec) is
	 * rewritten where it is: an update would allocate a new 840-byte
	 * element, copy into it and free the old one. Only a process without
	 * one (the map was full at its fork) is built aside and inserted.
	 */
	r = bpf_map_lookup_elem(&pids, &pid);
	in_place = r != 0;
	if (!r)
		r = bpf_map_lookup_elem(&scratch, &zero);
	if (!r)
		return 0;

	r->kind = EVENT_EXEC;
	r->pid = pid;
	r->ppid = BPF_CORE_READ(task, real_parent, tgid);
	r->uid = (__u32)bpf_get_current_uid_gid();
	/* de_thread gave an exec'ing thread the leader's start time */
	r->start_ns = BPF_CORE_READ(task, start_boottime);
	r->exec_ns = bpf_ktime_get_boot_ns();
	r->cgroup_id = bpf_get_current_cgroup_id();
	r->error = 0;
	r->flags = 0;
	bpf_get_current_comm(r->comm, sizeof(r->comm));

	n = bpf_probe_read_kernel_str(r->data, FILENAME_MAX_LEN,
				      BPF_CORE_READ(bprm, filename));
	if (n < 0)
		n = 0;
	if (n >= FILENAME_MAX_LEN) {
		n = FILENAME_MAX_LEN;
		r->flags |= RECORD_FILENAME_TRUNCATED;
	}
	r->filename_len = n;

	/* the new image's argv is in place by the time this tracepoint fires */
	arg_start = BPF_CORE_READ(task, mm, arg_start);
	arg_end = BPF_CORE_READ(task, mm, arg_end);
	args_len = arg_end - arg_start;
	if (args_len < 0)
		args_len = 0;
	if (args_len > ARGS_MAX_LEN) {
		args_len = ARGS_MAX_LEN;
		r->flags |= RECORD_ARGS_TRUNCATED;
	}
	/* keep the verifier's bounds on both the offset and the size */
	n &= (FILENAME_MAX_LEN * 2 - 1);
	if (n > FILENAME_MAX_LEN)
		n = FILENAME_MAX_LEN;
	args_len &= (ARGS_MAX_LEN * 2 - 1);
	if (args_len > ARGS_MAX_LEN)
		args_len = ARGS_MAX_LEN;
	if (args_len > 0 &&
	    bpf_probe_read_user(r->data + n, args_len, (void *)arg_start) < 0)
		args_len = 0;
	r->args_len = args_len;

	if (!in_place && bpf_map_update_elem(&pids, &pid, r, BPF_ANY) < 0) {
		count_drop(DROP_PID_MAP_FULL);
		r->flags |= RECORD_NOT_KEPT;
	}

	if (bpf_ringbuf_output(&events, r, record_size(r), wakeup_flag()) < 0) {
		count_drop(DROP_EXEC_RINGBUF);
		/* the record is kept: mark it, so the exit can send it after all */
		if (!in_place)
			r = bpf_map_lookup_elem(&pids, &pid);
		if (r)
			r->flags |= RECORD_UNSENT;
	}
	return 0;
}

SEC("raw_tp/sched_process_exit")
int handle_exit(struct bpf_raw_tracepoint_args *ctx)
{
	/* do_exit runs in the exiting task: it is current, and BTF pointer
	 * loads from it are cheaper than a probe read per field */
	struct task_struct *task = bpf_get_current_task_btf();
	struct command_key key = {};
	struct exec_record *r;
	struct settings *s;
	struct exit_event *e;
	struct ended_event *ended;
	struct usage u;
	__u64 now, start;
	__u32 zero = 0, pid, status, reaper, flags = 0;

	/*
	 * The tracepoint fires per thread; a process has ended when its last
	 * thread exits. Newer kernels pass group_dead, true for exactly that
	 * thread. Older ones pass only the task: there the group's live count
	 * has reached zero (do_exit decrements it before this tracepoint), which
	 * two threads exiting at once on two CPUs may both see.
	 */
	if (bpf_core_field_exists(struct trace_event_raw_sched_process_exit, group_dead)) {
		if (!(__u8)ctx->args[1])
			return 0;
	} else if (task->signal->live.counter != 0) {
		return 0;
	}

	pid = task->tgid;
	if (untraced(pid))
		return 0;
	/* out of the set now, not after the event is sent: user space drains
	 * the ring once more after it sees the set empty */
	untrace(pid);
	now = bpf_ktime_get_boot_ns();
	r = bpf_map_lookup_elem(&pids, &pid);
	if (r) {
		start = r->start_ns;
		flags |= EXIT_HAD_RECORD;
		/* counted under its name at exec, before a prctl renamed it */
		__builtin_memcpy(key.comm, r->comm, sizeof(key.comm));
		/* its exec event was lost: send it now, so the exit is joined */
		if ((r->flags & RECORD_UNSENT) &&
		    bpf_ringbuf_output(&events, r, record_size(r), 0) == 0)
			count_drop(DROP_EXEC_RECOVERED);
		/* always, even when filtered below, so the map cannot fill */
		bpf_map_delete_elem(&pids, &pid);
	} else {
		/* started before tracing, or forked without exec: the process
		 * began when its first thread did */
		start = task->group_leader->start_boottime;
		/* up to the NUL only, so one name is one key */
		bpf_probe_read_kernel_str(key.comm, sizeof(key.comm), task->group_leader->comm);
	}

	/* every process counts in its command's totals, also those filtered */
	status = task->exit_code;
	read_usage(task, &u, &flags);
	count_command(&key, status, now - start, &u);

	reaper = new_parent(task);
	s = bpf_map_lookup_elem(&settings, &zero);
	if (s && now - start < s->min_duration_ns) {
		/* kept off the finished list, but the live table must know */
		ended = bpf_ringbuf_reserve(&events, sizeof(*ended), 0);
		if (!ended) {
			count_drop(DROP_EXIT_RINGBUF);
			return 0;
		}
		ended->kind = EVENT_ENDED;
		ended->pid = pid;
		ended->reaper = reaper;
		ended->flags = flags;
		ended->start_ns = start;
		ended->exit_ns = now;
		bpf_ringbuf_submit(ended, wakeup_flag());
		return 0;
	}

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop(DROP_EXIT_RINGBUF);
		return 0;
	}
	e->kind = EVENT_EXIT;
	e->pid = pid;
	e->ppid = task->real_parent->tgid;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->exit_status = status;
	e->reaper = reaper;
	e->start_ns = start;
	e->exit_ns = now;
	e->usage = u;
	e->flags = flags;
	/* the last thread may be a named worker: the process's name is its
	 * leader's (a zombie leader's task_struct is still valid) */
	copy_comm(e->comm, task->group_leader->comm);
	copy_comm(e->thread_comm, task->comm);
	bpf_ringbuf_submit(e, wakeup_flag());
	return 0;
}

#include "failed_exec.bpf.h"
