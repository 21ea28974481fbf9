/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The failed-exec programs. Included once, at the end of tracer.bpf.c,
 * whose maps and helpers they use.
 */
#ifndef __FAILED_EXEC_BPF_H
#define __FAILED_EXEC_BPF_H

/*
 * Failed execs, at the syscall tracepoints (perf-event attached, their ids
 * from tracefs; user space attaches them when it can). Nothing is done on
 * entry: when execve fails, the registers the task entered the kernel with
 * still hold its arguments, so only the failure path reads anything.
 */
static __always_inline int exec_failed(long ret, bool at)
{
	struct task_struct *task;
	struct exec_record *r;
	struct pt_regs *regs;
	const char *const *argv;
	const char *filename, *arg;
	__u32 slot = 1, i;
	long n, args_len = 0;

	if (ret >= 0 || untraced(bpf_get_current_pid_tgid() >> 32))
		return 0;
	r = bpf_map_lookup_elem(&scratch, &slot);
	if (!r)
		return 0;
	task = bpf_get_current_task_btf();
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	/* execve(filename, argv, envp); execveat(dirfd, filename, argv, envp, flags) */
	if (at) {
		filename = (const char *)BPF_CORE_READ(regs, si);
		argv = (const char *const *)BPF_CORE_READ(regs, dx);
	} else {
		filename = (const char *)BPF_CORE_READ(regs, di);
		argv = (const char *const *)BPF_CORE_READ(regs, si);
	}

	r->kind = EVENT_EXEC_FAILED;
	r->pid = bpf_get_current_pid_tgid() >> 32;
	r->ppid = BPF_CORE_READ(task, real_parent, tgid);
	r->uid = (__u32)bpf_get_current_uid_gid();
	r->start_ns = BPF_CORE_READ(task, group_leader, start_boottime);
	r->exec_ns = bpf_ktime_get_boot_ns();
	r->cgroup_id = bpf_get_current_cgroup_id();
	r->error = (__s32)-ret;
	r->flags = 0;
	/* the process's name: a failed exec has not changed it */
	BPF_CORE_READ_INTO(&r->comm, task, group_leader, comm);

	n = bpf_probe_read_user_str(r->data, FILENAME_MAX_LEN, filename);
	if (n < 0)
		n = 0;
	if (n >= FILENAME_MAX_LEN) {
		n = FILENAME_MAX_LEN;
		r->flags |= RECORD_FILENAME_TRUNCATED;
	}
	r->filename_len = n;
	n &= (FILENAME_MAX_LEN * 2 - 1);
	if (n > FILENAME_MAX_LEN)
		n = FILENAME_MAX_LEN;

	for (i = 0; i < FAILED_ARGS_MAX; i++) {
		long m;

		if (!argv || bpf_probe_read_user(&arg, sizeof(arg), &argv[i]) < 0 || !arg)
			break;
		/* each argument starts where the verifier can prove room for it */
		if (args_len > ARGS_MAX_LEN - FAILED_ARG_LEN) {
			r->flags |= RECORD_ARGS_TRUNCATED;
			break;
		}
		m = bpf_probe_read_user_str(r->data + n + args_len, FAILED_ARG_LEN, arg);
		if (m <= 0)
			break;
		if (m == FAILED_ARG_LEN)
			r->flags |= RECORD_ARGS_TRUNCATED;
		args_len += m;
		if (i == FAILED_ARGS_MAX - 1)
			r->flags |= RECORD_ARGS_TRUNCATED;
	}
	r->args_len = args_len;

	if (bpf_ringbuf_output(&events, r, record_size(r), wakeup_flag()) < 0)
		count_drop(DROP_EXEC_FAILED_RINGBUF);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_execve")
int exit_execve(struct syscall_exit_args *ctx)
{
	return exec_failed(ctx->ret, false);
}

SEC("tracepoint/syscalls/sys_exit_execveat")
int exit_execveat(struct syscall_exit_args *ctx)
{
	return exec_failed(ctx->ret, true);
}

#endif /* __FAILED_EXEC_BPF_H */
