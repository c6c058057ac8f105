#!/bin/sh
# Assemble the Linux i386 test programs: tests/linux/NAME.asm -> tests/linux/bin/NAME
# (static ELF, no libc; the initramfs of a test carries them). Needs nasm and GNU ld.
set -eu
dir=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$dir/bin"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in "$dir"/*.asm; do
    name=$(basename "$f" .asm)
    nasm -f elf32 -i "$dir/" -o "$tmp/$name.o" "$f"
    ld -m elf_i386 --build-id=none -s -o "$dir/bin/$name" "$tmp/$name.o"
    echo "built bin/$name ($(wc -c < "$dir/bin/$name") bytes)"
done
