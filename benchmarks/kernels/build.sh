#!/bin/sh
# Assemble and link the benchmark kernels: benchmarks/kernels/NAME.asm -> bin/NAME.elf
# Usage: benchmarks/kernels/build.sh [NAME...]   (default: every *.asm)
# Needs nasm and GNU ld (binutils) with the elf_i386 emulation. The built
# binaries are committed, so running the benchmark needs neither.
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
    echo "built bin/$name.elf ($(wc -c < "$dir/bin/$name.elf") bytes)"
done
