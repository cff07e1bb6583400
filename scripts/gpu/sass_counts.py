#!/usr/bin/env python3
"""Executed SASS instructions of one kernel, by opcode and by basic block, from ncu's source page.

Usage: ncu --import R.ncu-rep --page source --csv --print-source sass > K.csv   (a report with --section SourceCounters)
       python3 scripts/gpu/sass_counts.py K.csv [top]

Prints the warp-level executed instructions in all, then per opcode (the part before the first '.', predicates
dropped), then the `top` (default 6) heaviest groups of instructions sharing one execution count (in practice the
basic blocks: a loop body's instructions all run the same number of times), each with its size and opcode mix.
That is where to look when a kernel executes more instructions than a peer for the same products.
"""
import collections
import csv
import re
import sys


def main(path, top):
    rows = list(csv.reader(open(path, newline="")))
    head = next(i for i, r in enumerate(rows) if "Instructions Executed" in r)
    hdr = rows[head]
    ie, src = hdr.index("Instructions Executed"), hdr.index("Source")
    total, by_op = 0, collections.Counter()
    blocks = collections.defaultdict(collections.Counter)
    for r in rows[head + 1:]:
        try:
            n = int(r[ie])
        except (ValueError, IndexError):
            continue
        op = re.sub(r"^@!?U?P\w+\s+", "", r[src].strip()).split(" ")[0].split(".")[0]
        total += n
        by_op[op] += n
        blocks[n][op] += 1
    print(f"{rows[0][1] if len(rows[0]) > 1 else path}: {total} warp instructions executed")
    for op, n in by_op.most_common():
        if n * 1000 >= total:
            print(f"  {op:10s} {n:12d} {100 * n / total:5.1f}%")
    print(f"heaviest groups (execution count x instructions = executed):")
    for n, mix in sorted(blocks.items(), key=lambda kv: -kv[0] * sum(kv[1].values()))[:top]:
        size = sum(mix.values())
        print(f"  {n:9d} x {size:4d} = {n * size:11d}  " + " ".join(f"{o} {k}" for o, k in mix.most_common(12)))


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) == 3 else 6)
