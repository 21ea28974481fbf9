/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Lineage at exit: the parent the kernel will give an ending process's
 * children. Included once, from tracer.bpf.c.
 */
#ifndef __LINEAGE_BPF_H
#define __LINEAGE_BPF_H

/* How far up the parents a subreaper is looked for. */
#define SUBREAPER_DEPTH 16

/* A task's pid namespace's init: the pid its level's upid points into. */
static __always_inline __u32 ns_reaper(struct task_struct *t)
{
	struct pid *pid = t->thread_pid;
	struct pid_namespace *ns = 0;
	unsigned int level = pid->level;
	unsigned long at;

	/* numbers[] is a flexible array: its address is computed, then read */
	at = (unsigned long)pid + bpf_core_field_offset(struct pid, numbers) +
	     (unsigned long)level * bpf_core_type_size(struct upid) +
	     bpf_core_field_offset(struct upid, ns);
	if (bpf_probe_read_kernel(&ns, sizeof(ns), (void *)at) < 0 || !ns)
		return 0;
	return BPF_CORE_READ(ns, child_reaper, tgid);
}

/*
 * The parent the kernel gives an ending process's children (its
 * find_new_reaper, run after this tracepoint): the nearest ancestor in the
 * same pid namespace that is a child subreaper, else the namespace's init.
 * 0 when it has no children. Where it can differ from the kernel's: a
 * subreaper more than SUBREAPER_DEPTH parents up is not found (init is
 * named), and a subreaper that is itself exiting is not skipped.
 */
static __always_inline __u32 new_parent(struct task_struct *t)
{
	struct task_struct *p;
	unsigned int level;
	int i;

	if (t->children.next == &t->children)
		return 0;
	if (BPF_CORE_READ_BITFIELD_PROBED(t->signal, has_child_subreaper)) {
		level = t->thread_pid->level;
		p = t->real_parent;
		for (i = 0; i < SUBREAPER_DEPTH; i++) {
			/* init_task (pid 0) ends the walk, as does leaving the namespace */
			if (!p || p->pid == 0 || p->thread_pid->level != level)
				break;
			if (BPF_CORE_READ_BITFIELD_PROBED(p->signal, is_child_subreaper))
				return p->tgid;
			p = p->real_parent;
		}
	}
	return ns_reaper(t);
}

#endif /* __LINEAGE_BPF_H */
