#!/bin/sh
# Assemble the web page's interactive test guest: echo.asm -> echo.bin
# (a Multiboot kernel using the a.out kludge; needs only nasm).
set -eu
dir=$(cd "$(dirname "$0")" && pwd)
nasm -f bin -o "$dir/echo.bin" "$dir/echo.asm"
echo "built echo.bin ($(wc -c < "$dir/echo.bin") bytes)"
