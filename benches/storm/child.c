// SPDX-License-Identifier: GPL-2.0
/*
 * The exec storm's child: no libc, no dynamic loader, so that an exec costs
 * the kernel's work and little else. argv[1] = lifetime in microseconds,
 * argv[2] = exit code; both optional.
 * Built with: cc -O2 -static -nostdlib -fno-stack-protector -o storm-child child.c
 */
#include <asm/unistd.h>

static long sys(long n, long a, long b)
{
	long ret;

	__asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b) : "rcx", "r11", "memory");
	return ret;
}

static long num(const char *s)
{
	long n = 0;

	while (s && *s >= '0' && *s <= '9')
		n = n * 10 + (*s++ - '0');
	return n;
}

struct ts {
	long sec;
	long nsec;
};

void __attribute__((used)) start_c(long *sp)
{
	long argc = sp[0];
	char **argv = (char **)(sp + 1);
	long us = argc > 1 ? num(argv[1]) : 0;
	long code = argc > 2 ? num(argv[2]) : 0;

	if (us > 0) {
		struct ts t = { us / 1000000, us % 1000000 * 1000 };

		sys(__NR_nanosleep, (long)&t, 0);
	}
	sys(__NR_exit_group, code, 0);
}

__asm__(".global _start\n"
	"_start:\n"
	"  mov %rsp, %rdi\n"
	"  and $-16, %rsp\n"
	"  call start_c\n"
	"  hlt\n");
