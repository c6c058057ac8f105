#!/bin/sh
# Cross-check the benchmark kernels' RESULT lines under QEMU (an independent
# x86 implementation) against the values benchmarks/run.mjs expects.
# Usage: benchmarks/kernels/check-qemu.sh [NAME...]   (default: every bin/*.elf)
# Needs qemu-system-i386 (Debian: qemu-system-x86). Not needed to run the benchmark.
set -eu
dir=$(cd "$(dirname "$0")" && pwd)
qemu=${QEMU:-qemu-system-i386}
if [ $# -eq 0 ]; then
    set --
    for f in "$dir"/bin/*.elf; do set -- "$@" "$(basename "$f" .elf)"; done
fi
expected=$(node --input-type=module -e '
  const { expectedResults } = await import(process.argv[1]);
  for (const [k, v] of Object.entries(expectedResults())) console.log(`${k} ${v}`);
' "$dir/../kernels.mjs")
fail=0
for name in "$@"; do
    status=0
    out=$(timeout 300 "$qemu" -nodefaults -display none -m 128 -serial stdio \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
        -kernel "$dir/bin/$name.elf" </dev/null | tr -d '\r' | grep '^RESULT ') || status=$?
    want="RESULT $(echo "$expected" | grep "^$name " || true)"
    if [ "$out" = "$want" ]; then echo "ok   $out"; else echo "FAIL $name: qemu said '$out', expected '$want'"; fail=1; fi
done
exit $fail
