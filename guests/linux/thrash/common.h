/*
 * Shared by the thrashing workloads (SwapBypass, seed 000's Stream/GUPS figure):
 * the working-set size from the command line (MiB) or, without one, twice the
 * guest's free memory from /proc/meminfo; a monotonic clock; the result line.
 * Integer arithmetic only, so the checksum is the same natively and in any VM.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static size_t working_set_bytes(int argc, char **argv)
{
	if (argc > 1)
		return (size_t)strtoul(argv[1], NULL, 0) << 20;
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	unsigned long kib = 0;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "MemFree: %lu kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	if (!kib) {
		fprintf(stderr, "give the working set in MiB (no MemFree in /proc/meminfo)\n");
		exit(2);
	}
	return (size_t)kib * 2 * 1024;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void *alloc_or_die(size_t bytes)
{
	void *p = malloc(bytes);
	if (!p) {
		fprintf(stderr, "cannot allocate %zu bytes\n", bytes);
		exit(1);
	}
	return p;
}
