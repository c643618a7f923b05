#!/usr/bin/env python3
"""Prints the verify-bench tables of BENCHMARKS.md from criterion's saved baselines.

Usage: scripts/bench_table.py <criterion dir> <baseline>...
Reads <criterion dir>/<group>/<function>/<size>/<baseline>/estimates.json (criterion's own
output) and prints, per group and size, the medians of raw_hmac and verify, their ratio, the
overhead, and whether the targets hold: at most 1.5 us over raw HMAC at 0 B; a ratio of at most
1.10 from 1 KiB up.
"""
import json
import os
import sys

GROUPS = ["humanos", "inqud_hmac", "inqud_simple", "proficient", "spike_bearer", "spike_exchange"]


def median(path):
    with open(path) as f:
        return json.load(f)["median"]["point_estimate"]


def fmt_ns(ns):
    return f"{ns / 1000:.2f} µs" if abs(ns) >= 1000 else f"{ns:.0f} ns"


def size_label(size):
    size = int(size)
    if size >= 1024 * 1024:
        return f"{size // (1024 * 1024)} MiB"
    if size >= 1024:
        return f"{size // 1024} KiB"
    return f"{size} B"


def verdict(size, ratio, overhead):
    if int(size) == 0:
        return "yes" if overhead <= 1500 else "**no**"
    return "yes" if ratio <= 1.10 else "**no**"


def main():
    root, baselines = sys.argv[1], sys.argv[2:]
    for baseline in baselines:
        print(f"\n#### Backend: {baseline}\n")
        print("| scheme | body | floor | floor median | measured | median | ratio | overhead | target met |")
        print("|---|---|---|---:|---|---:|---:|---:|---|")
        for group in GROUPS:
            gdir = os.path.join(root, group)
            if not os.path.isdir(gdir):
                continue
            functions = sorted(os.listdir(gdir))
            floor = next((f for f in functions if f.startswith("raw_")), None)
            if floor is None:
                continue
            sizes = sorted(os.listdir(os.path.join(gdir, floor)), key=lambda s: (not s.isdigit(), int(s) if s.isdigit() else 0))
            for size in sizes:
                if not size.isdigit():
                    continue
                fpath = os.path.join(gdir, floor, size, baseline, "estimates.json")
                if not os.path.exists(fpath):
                    continue
                raw = median(fpath)
                for function in functions:
                    if function == floor or function == "report":
                        continue
                    vpath = os.path.join(gdir, function, size, baseline, "estimates.json")
                    if not os.path.exists(vpath):
                        continue
                    value = median(vpath)
                    if function == "no_layer":
                        print(f"| {group} | {size_label(size)} | | | {function} | {fmt_ns(value)} | | | |")
                        continue
                    ratio = value / raw
                    overhead = value - raw
                    met = verdict(size, ratio, overhead)
                    if floor != "raw_hmac":
                        met = "n/a (no MAC)"
                    print(
                        f"| {group} | {size_label(size)} | {floor} | {fmt_ns(raw)} | {function} | "
                        f"{fmt_ns(value)} | {ratio:.2f} | {fmt_ns(overhead)} | {met} |"
                    )


if __name__ == "__main__":
    main()
