/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * malloc_storm: a malloc-heavy program, the stock producer for measuring
 * lttng-consumerd as a peer: run under LD_PRELOAD=liblttng-ust-libc-wrapper
 * every malloc() and free() is an lttng-ust event (lttng_ust_libc:malloc,
 * lttng_ust_libc:free).  THREADS threads (default 1) allocate and free
 * blocks of 16 to 1024 bytes for SECONDS seconds (default 3), then it
 * prints "calls=N seconds=S": the allocator calls made and the time the
 * loop ran (the tracer's registration at start-up is not in it).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static atomic_int ms_stop;
static atomic_uint_fast64_t ms_calls;

static double ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Allocate and free until told to stop; count the calls. */
static void *ms_thread(void *arg)
{
	uint64_t n = 0, x = (uintptr_t)arg * 2654435761u + 1;

	while (!atomic_load_explicit(&ms_stop, memory_order_relaxed)) {
		int i;

		for (i = 0; i < 1024; i++) {
			void *p;

			x = x * 6364136223846793005ull + 1442695040888963407ull;
			p = malloc(16 + (size_t)(x >> 54));
			if (p)
				*(volatile char *)p = 0;
			free(p);
		}
		n += 2048;
	}
	atomic_fetch_add(&ms_calls, n);
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 1, i;
	double secs = argc > 2 ? atof(argv[2]) : 3.0, t0;
	struct timespec ts;
	pthread_t tid[256];

	if (threads < 1 || threads > 256 || secs <= 0) {
		fputs("usage: malloc_storm [THREADS [SECONDS]]\n", stderr);
		return 2;
	}
	t0 = ms_now();
	for (i = 0; i < threads; i++)
		if (pthread_create(&tid[i], NULL, ms_thread, (void *)(uintptr_t)i)) {
			fputs("malloc_storm: pthread_create failed\n", stderr);
			return 1;
		}
	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
	atomic_store(&ms_stop, 1);
	for (i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	printf("calls=%llu seconds=%.6f\n",
	       (unsigned long long)atomic_load(&ms_calls), ms_now() - t0);
	return 0;
}
