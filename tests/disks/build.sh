#!/bin/sh
# Assemble the firmware test disks: tests/disks/NAME.asm -> tests/disks/bin/NAME.img (nasm -f bin).
set -eu
dir=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$dir/bin"
for f in "$dir"/*.asm; do
    name=$(basename "$f" .asm)
    nasm -f bin -I "$dir/" -o "$dir/bin/$name.img" "$f"
    echo "built bin/$name.img ($(wc -c < "$dir/bin/$name.img") bytes)"
done
