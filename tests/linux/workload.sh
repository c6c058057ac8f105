# The guest workload of tests/linux.test.ts. It runs in the guest (busybox on
# Symbiont) and natively on the host (the same busybox binary), and the two
# outputs must be identical. Run from the directory holding the data files.
echo "arith $((123456789 * 987 % 1000007)) $(( (1 << 20) / 3 )) $(( -17 % 5 ))"
awk 'BEGIN { s = 0; for (i = 1; i <= 1000; i++) s += i * i; print "awk", s }'
awk '{ n += $1 } END { printf "awk-float %.4f\n", n / NR }' numbers.txt
printf 'printf %.3f %e %x\n' 3.14159 12345.678 48879
sort -n numbers.txt | md5sum
sort numbers.txt | uniq -c | sort -rn | head -3
md5sum data.bin
sha256sum data.bin
gzip -c < data.bin | md5sum
gzip -c < data.bin | gzip -dc | md5sum
factor 1234567890123 600851475143 4294967291
seq 1 10 | tr '\n' ' ' | wc -c
echo "sed" | sed 's/s\(e\)d/\1-ok/'
# Processes: every iteration forks a pipeline and execs a shell (copy-on-write, new address spaces).
i=0; while [ $i -lt 60 ]; do echo "$i" | sh -c 'read x; echo $((x * x))'; i=$((i + 1)); done | md5sum
