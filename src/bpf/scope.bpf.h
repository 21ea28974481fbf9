/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracing one command's or one process's tree: the traced set, kept in the
 * kernel so an unrelated exec storm costs the programs one lookup and an
 * early return. Included once, from tracer.bpf.c.
 */
#ifndef __SCOPE_BPF_H
#define __SCOPE_BPF_H

/* Set by user space at load: only processes in `traced` are followed. */
const volatile __u32 scoped = 0;

/*
 * The traced processes (thread-group ids). User space puts in the root:
 * the command it starts (the child puts itself in before its exec) or the
 * --pid target; the fork program adds each new process whose parent is in
 * it, and the exit program takes out each process that ends. Full, a child
 * is not traced and the drop is counted.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u8);
} traced SEC(".maps");

/* True when tracing is scoped and this process is outside the scope. */
static __always_inline bool untraced(__u32 tgid)
{
	return scoped && !bpf_map_lookup_elem(&traced, &tgid);
}

/*
 * At fork: true when the new process is to be followed. A child of a
 * traced process joins the set; so does one a traced process made with
 * CLONE_PARENT, whose parent is the caller's parent (`caller` is the
 * forking process, `parent` the child's real parent).
 */
static __always_inline bool trace_child(__u32 caller, __u32 parent, __u32 child)
{
	__u8 one = 1;

	if (!scoped)
		return true;
	if (!bpf_map_lookup_elem(&traced, &caller) &&
	    (parent == caller || !bpf_map_lookup_elem(&traced, &parent)))
		return false;
	if (bpf_map_update_elem(&traced, &child, &one, BPF_ANY) < 0) {
		count_drop(DROP_TRACED_FULL);
		return false;
	}
	return true;
}

/* At a traced process's end; user space ends when the set is empty. */
static __always_inline void untrace(__u32 tgid)
{
	if (scoped)
		bpf_map_delete_elem(&traced, &tgid);
}

#endif /* __SCOPE_BPF_H */
