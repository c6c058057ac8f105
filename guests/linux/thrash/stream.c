/*
 * STREAM-like (McCalpin's four kernels, on 32-bit integers): copy, scale, add
 * and triad over three arrays that together make the working set, swept in
 * order a few times. Prints the checksum of the arrays and the time taken;
 * with -v also the fill's and each pass's time as they end (watch a thrashing
 * guest's passes, or SwapBypass's first pass against the later ones).
 * usage: stream [MiB [passes [-v]]]
 */
#include "common.h"

int main(int argc, char **argv)
{
	size_t bytes = working_set_bytes(argc, argv);
	int passes = argc > 2 ? atoi(argv[2]) : 2;
	int verbose = argc > 3 && strcmp(argv[3], "-v") == 0;
	size_t n = bytes / 3 / sizeof(uint32_t);
	uint32_t *a = alloc_or_die(n * 4), *b = alloc_or_die(n * 4), *c = alloc_or_die(n * 4);
	double t0 = now_ms();
	for (size_t i = 0; i < n; i++) {
		a[i] = (uint32_t)i * 2654435761u;
		b[i] = 2;
		c[i] = 0;
	}
	double t = now_ms();
	if (verbose) {
		printf("stream: fill: %.0f ms\n", t - t0);
		fflush(stdout);
	}
	for (int p = 0; p < passes; p++) {
		for (size_t i = 0; i < n; i++)		/* copy */
			c[i] = a[i];
		for (size_t i = 0; i < n; i++)		/* scale */
			b[i] = 3 * c[i];
		for (size_t i = 0; i < n; i++)		/* add */
			c[i] = a[i] + b[i];
		for (size_t i = 0; i < n; i++)		/* triad */
			a[i] = b[i] + 3 * c[i];
		if (verbose) {
			double now = now_ms();
			printf("stream: pass %d: %.0f ms\n", p + 1, now - t);
			fflush(stdout);
			t = now;
		}
	}
	uint32_t sum = 2166136261u;
	for (size_t i = 0; i < n; i++)
		sum = (sum ^ a[i] ^ (b[i] << 1) ^ (c[i] << 2)) * 16777619u;	/* FNV-1a over the words */
	printf("stream: %zu MiB, %d passes, checksum %08x, %.0f ms\n", bytes >> 20, passes, sum, now_ms() - t0);
	return 0;
}
