#!/bin/sh
# Run each kernel under QEMU and record its serial output as the golden file.
#   tests/kernels/bin/NAME.elf -> tests/kernels/golden/NAME.txt
# Usage: tests/kernels/record-golden.sh [NAME...]   (default: every bin/*.elf)
# Needs qemu-system-i386 (Debian: qemu-system-x86). Run build.sh first.
# A kernel passes only if QEMU exits with status 1 (isa-debug-exit written
# with 0) and the output has no "UNEXPECTED" line.
# Per-kernel extra QEMU arguments: tests/kernels/qemu-args/NAME.args, if it
# exists, holds arguments appended to the standard command line (split at
# white space, no quoting; lines starting with # are comments), e.g.
# "-cpu qemu32,+nx" for pae or "-device pc-testdev" for mmio.  Kernels
# without such a file run with exactly the standard command line.
set -eu
dir=$(cd "$(dirname "$0")" && pwd)
qemu=${QEMU:-qemu-system-i386}
mkdir -p "$dir/golden"

if [ $# -eq 0 ]; then
    set --
    for f in "$dir"/bin/*.elf; do set -- "$@" "$(basename "$f" .elf)"; done
fi

fail=0
for name in "$@"; do
    # A kernel that waits for a debugger never ends on its own: tests/gdb.test.ts compares its output with QEMU's.
    if grep -q "no golden file" "$dir/$name.asm" 2>/dev/null; then
        echo "$name: no golden file (it waits for a debugger)"
        continue
    fi
    out="$dir/golden/$name.txt"
    tmp="$out.tmp"
    status=0
    extra=
    if [ -f "$dir/qemu-args/$name.args" ]; then
        extra=$(grep -v '^[[:space:]]*#' "$dir/qemu-args/$name.args" | tr '\n' ' ')
        echo "$name: extra QEMU arguments: $extra"
    fi
    set -f                      # $extra is split at white space, never globbed
    # shellcheck disable=SC2086
    timeout 60 "$qemu" -nodefaults -display none -serial stdio \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 $extra \
        -kernel "$dir/bin/$name.elf" > "$tmp" </dev/null || status=$?
    set +f
    if [ "$status" -ne 1 ]; then
        echo "FAIL $name: qemu exit status $status (expected 1)" >&2
        fail=1
        rm -f "$tmp"
        continue
    fi
    if grep -q UNEXPECTED "$tmp"; then
        echo "FAIL $name: unexpected exception:" >&2
        grep UNEXPECTED "$tmp" >&2
        fail=1
        rm -f "$tmp"
        continue
    fi
    mv "$tmp" "$out"
    echo "recorded golden/$name.txt ($(wc -l < "$out") lines)"
done
exit $fail
