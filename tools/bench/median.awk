# median.awk - the median of a sorted column of numbers (sort -g first), or
# "-" when there are none.  Shared by tools/bench/run, tools/bench/compare
# and tools/gobench/run.
{ a[NR] = $1 }
END {
	if (NR == 0)
		print "-"
	else if (NR % 2)
		print a[(NR + 1) / 2]
	else
		print (a[NR / 2] + a[NR / 2 + 1]) / 2
}
