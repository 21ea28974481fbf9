// SPDX-License-Identifier: GPL-2.0
/*
 * exec-storm: spawns N processes from K worker threads as fast as the
 * machine allows (posix_spawn + wait), then prints what it did as one line
 * of key=value pairs.
 *
 *   exec-storm -n N -k K [-l LIFETIME_US] [-c EXIT_CODE] [-a BYTES] [-p PIDFILE] CHILD
 *
 * With -a, each child gets one more argument of BYTES characters, so that
 * the tracer's argv copy has something to copy.
 *
 * With -p, every child's pid is written to PIDFILE (one per line), so a
 * test can check that each one was seen.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long per_worker, extra;
static const char *child;
static char lifetime[32] = "0", code[32] = "0";
static pid_t *pids;
static char *padding;
static long failures;

static void *worker(void *arg)
{
	long w = (long)arg;
	long count = per_worker + (w < extra);
	long base = w * per_worker + (w < extra ? w : extra);
	char *argv[] = { (char *)"storm-child", lifetime, code, padding, NULL };

	for (long i = 0; i < count; i++) {
		pid_t pid;
		int status;

		if (posix_spawn(&pid, child, NULL, NULL, argv, environ) != 0) {
			__atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);
			continue;
		}
		pids[base + i] = pid;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	return NULL;
}

static double seconds(struct timeval tv)
{
	return tv.tv_sec + tv.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	long n = 10000, k = 2;
	const char *pidfile = NULL;
	int opt;

	while ((opt = getopt(argc, argv, "n:k:l:c:a:p:")) != -1) {
		switch (opt) {
		case 'n': n = atol(optarg); break;
		case 'k': k = atol(optarg); break;
		case 'l': snprintf(lifetime, sizeof(lifetime), "%ld", atol(optarg)); break;
		case 'c': snprintf(code, sizeof(code), "%ld", atol(optarg)); break;
		case 'p': pidfile = optarg; break;
		case 'a':
			padding = calloc(atol(optarg) + 1, 1);
			if (padding)
				memset(padding, 'x', atol(optarg));
			break;
		default:
			fprintf(stderr, "usage: exec-storm -n N -k K [-l US] [-c CODE] [-a BYTES] [-p PIDFILE] CHILD\n");
			return 2;
		}
	}
	if (optind != argc - 1 || n < 1 || k < 1 || k > 256) {
		fprintf(stderr, "usage: exec-storm -n N -k K [-l US] [-c CODE] [-p PIDFILE] CHILD\n");
		return 2;
	}
	child = argv[optind];
	per_worker = n / k;
	extra = n % k;
	pids = calloc(n, sizeof(*pids));
	pthread_t threads[256];
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long w = 0; w < k; w++)
		pthread_create(&threads[w], NULL, worker, (void *)w);
	for (long w = 0; w < k; w++)
		pthread_join(threads[w], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);

	struct rusage self, kids;
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	double wall = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	double cpu = seconds(self.ru_utime) + seconds(self.ru_stime) + seconds(kids.ru_utime) +
		     seconds(kids.ru_stime);
	long done = n - failures;
	printf("spawned=%ld failed=%ld seconds=%.4f execs_per_s=%.1f cpu_us_per_exec=%.2f\n", done,
	       failures, wall, done / wall, cpu * 1e6 / (done ? done : 1));
	if (pidfile) {
		FILE *f = fopen(pidfile, "w");
		if (!f) {
			perror(pidfile);
			return 1;
		}
		for (long i = 0; i < n; i++)
			if (pids[i])
				fprintf(f, "%d\n", pids[i]);
		fclose(f);
	}
	return failures ? 1 : 0;
}
