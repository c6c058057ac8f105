/*
 * GUPS-like (HPCC RandomAccess): random read-modify-write updates of a table
 * the size of the working set, indices from a 64-bit xorshift generator with a
 * fixed seed. Prints the table's checksum and the time taken.
 * usage: gups [MiB [updates (default: one per 16 table words)]]
 */
#include "common.h"

int main(int argc, char **argv)
{
	size_t bytes = working_set_bytes(argc, argv);
	size_t n = bytes / sizeof(uint32_t);
	size_t updates = argc > 2 ? (size_t)strtoul(argv[2], NULL, 0) : n / 16;
	uint32_t *t = alloc_or_die(n * 4);
	double t0 = now_ms();
	for (size_t i = 0; i < n; i++)
		t[i] = (uint32_t)i;
	uint64_t x = 0x2545f4914f6cdd1dull;
	for (size_t u = 0; u < updates; u++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		t[(size_t)(x % n)] ^= (uint32_t)(x >> 32);
	}
	uint32_t sum = 2166136261u;
	for (size_t i = 0; i < n; i++)
		sum = (sum ^ t[i]) * 16777619u;	/* FNV-1a over the words */
	printf("gups: %zu MiB, %zu updates, checksum %08x, %.0f ms\n", bytes >> 20, updates, sum, now_ms() - t0);
	return 0;
}
