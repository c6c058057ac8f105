# Run by tests/linux.test.ts after workload.sh (not by the benchmark, whose workload is
# workload.sh alone), in the guest and natively: floating point in two processes at once, so
# the kernel switches their x87 state (FXSAVE/FXRSTOR when the CPU offers them) under them,
# mid-expression too. Every value is exact in a double.
awk 'BEGIN { s = 0; for (i = 1; i <= 100000; i++) s += i * 0.5; printf "fp-a %.1f\n", s }' > fp-a.txt &
awk 'BEGIN { s = 0; for (i = 1; i <= 100000; i++) s -= i * 0.25 + 3; printf "fp-b %.2f\n", s }' > fp-b.txt &
wait; cat fp-a.txt fp-b.txt; rm fp-a.txt fp-b.txt
