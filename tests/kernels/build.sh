#!/bin/sh
# Assemble and link the test kernels: tests/kernels/NAME.asm -> tests/kernels/bin/NAME.elf
# Usage: tests/kernels/build.sh [NAME...]   (default: every *.asm)
# Needs nasm and GNU ld (binutils) with the elf_i386 emulation.
set -eu
dir=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$dir/bin"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ $# -eq 0 ]; then
    set --
    for f in "$dir"/*.asm; do set -- "$@" "$(basename "$f" .asm)"; done
fi

for name in "$@"; do
    nasm -f elf32 -I "$dir/" -o "$tmp/$name.o" "$dir/$name.asm"
    ld -m elf_i386 -n --no-warn-rwx-segments --build-id=none -T "$dir/link.ld" \
        -o "$dir/bin/$name.elf" "$tmp/$name.o"
    # drop the NASM macro-local labels (..@NNN.xxx): thousands of them, no use
    objcopy --wildcard --strip-symbol="..@*" "$dir/bin/$name.elf"
    echo "built bin/$name.elf ($(wc -c < "$dir/bin/$name.elf") bytes)"
done
