#!/usr/bin/env python3
"""Print the resident memory of one process per mapped file, as JSON.

Usage: mappings.py PID [COUNT]

Sums the Rss lines of /proc/PID/smaps per mapped path (anonymous mappings,
the heap and the stacks under their bracketed names) and prints the COUNT
largest (default 8) as a JSON list of {"mapping": ..., "rss_kib": ...}.
"""

import collections
import json
import sys


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    pid = int(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) == 3 else 8
    totals = collections.Counter()
    mapping = "[anonymous]"
    with open(f"/proc/{pid}/smaps", encoding="utf-8", errors="replace") as smaps:
        for line in smaps:
            fields = line.split()
            if not fields:
                continue
            # A mapping's header starts with its address range, e.g. "7f..-7f.. r-xp ...".
            if "-" in fields[0] and not fields[0].endswith(":"):
                mapping = fields[5] if len(fields) > 5 else "[anonymous]"
            elif fields[0] == "Rss:":
                totals[mapping] += int(fields[1])
    print(json.dumps([{"mapping": name, "rss_kib": kib} for name, kib in totals.most_common(count)]))


if __name__ == "__main__":
    main()
