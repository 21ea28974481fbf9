/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal CO-RE kernel types for tracer.bpf.c, written by hand from the
 * kernel's BTF (bpftool btf dump file /sys/kernel/btf/vmlinux format c).
 * Only the fields the program reads are declared; preserve_access_index
 * makes libbpf relocate every access against the running kernel's layout,
 * so field order and struct sizes here do not matter.
 */
#ifndef __VMLINUX_H__
#define __VMLINUX_H__

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed char __s8;
typedef short __s16;
typedef int __s32;
typedef long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef _Bool bool;
typedef int pid_t;

enum {
	false = 0,
	true = 1,
};

enum bpf_map_type {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_LRU_HASH = 9,
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_RINGBUF = 27,
};

enum {
	BPF_ANY = 0,
	BPF_NOEXIST = 1,
	BPF_EXIST = 2,
};

enum {
	BPF_F_NO_PREALLOC = 1,
};

enum {
	BPF_RB_NO_WAKEUP = 1,
	BPF_RB_FORCE_WAKEUP = 2,
};

enum {
	BPF_RB_AVAIL_DATA = 0,
	BPF_RB_RING_SIZE = 1,
	BPF_RB_CONS_POS = 2,
	BPF_RB_PROD_POS = 3,
};

struct bpf_raw_tracepoint_args {
	__u64 args[0];
};

/*
 * The syscall tracepoints' records (the format files of the syscalls event group):
 * a fixed ABI, so not relocated. The 8 bytes of common fields come first.
 */
struct syscall_exit_args {
	__u64 common;
	long nr;
	long ret;
};

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

typedef struct {
	int counter;
} atomic_t;

struct list_head {
	struct list_head *next;
	struct list_head *prev;
};

struct task_struct;

struct pid_namespace {
	struct task_struct *child_reaper;
};

struct upid {
	int nr;
	struct pid_namespace *ns;
};

/* numbers[level] is the pid as the task's own namespace sees it */
struct pid {
	unsigned int level;
	struct upid numbers[];
};

struct task_io_accounting {
	__u64 read_bytes;
	__u64 write_bytes;
};

struct signal_struct {
	atomic_t live;
	__u64 utime;
	__u64 stime;
	unsigned long nvcsw;
	unsigned long nivcsw;
	unsigned long min_flt;
	unsigned long maj_flt;
	unsigned long maxrss;
	struct task_io_accounting ioac;
	unsigned long long sum_sched_runtime;
	/* prctl(PR_SET_CHILD_SUBREAPER); has_: some ancestor set it */
	unsigned int is_child_subreaper : 1;
	unsigned int has_child_subreaper : 1;
};

struct sched_entity {
	__u64 sum_exec_runtime;
};

struct mm_struct {
	unsigned long arg_start;
	unsigned long arg_end;
};

/* task_struct.flags: a kernel thread */
#define PF_KTHREAD 0x00200000

struct task_struct {
	unsigned int flags;
	pid_t pid;
	pid_t tgid;
	int exit_code;
	__u64 start_boottime;
	struct task_struct *real_parent;
	struct task_struct *group_leader;
	struct mm_struct *mm;
	struct signal_struct *signal;
	/* the children it forked (their sibling links) */
	struct list_head children;
	struct pid *thread_pid;
	char comm[16];
	struct sched_entity se;
	__u64 utime;
	__u64 stime;
	unsigned long nvcsw;
	unsigned long nivcsw;
	unsigned long min_flt;
	unsigned long maj_flt;
	/* only with CONFIG_TASK_IO_ACCOUNTING */
	struct task_io_accounting ioac;
};

/* The registers a task entered the kernel with (x86-64 names): a syscall's
 * arguments are still in them when it returns. */
struct pt_regs {
	unsigned long di;
	unsigned long si;
	unsigned long dx;
};

struct linux_binprm {
	const char *filename;
};

/* Only on kernels whose sched_process_exit tracepoint passes group_dead. */
struct trace_event_raw_sched_process_exit {
	bool group_dead;
};

#pragma clang attribute pop

#endif /* __VMLINUX_H__ */
