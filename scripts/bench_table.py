#!/usr/bin/env python3
"""Prints the verify-bench tables of BENCHMARKS.md from criterion's saved baselines.

Usage: scripts/bench_table.py <criterion dir> <baseline> [<baseline>...]
Reads <criterion dir>/<group>/<function>/<size>/<baseline>/estimates.json (criterion's own
output) and prints, per group, size and measured function, the median of the floor (the group's
raw_* row) and of the function in each baseline, their ratio and the overhead, and whether the
last baseline meets the targets: for an HMAC floor, at most 0.4 us over it at 0 B, a ratio of at
most 1.25 at 1 KiB and 1.02 from 64 KiB up; for an Ed25519 floor, a ratio of at most 1.10.
Several baselines (for example `before` and `after`) are shown side by side.
"""
import json
import os
import sys

GROUPS = [
    "humanos",
    "inqud_hmac",
    "inqud_simple",
    "proficient",
    "spike_bearer",
    "spike_exchange",
    "discord",
    "standard_v1a",
]


def median(root, group, function, size, baseline):
    path = os.path.join(root, group, function, size, baseline, "estimates.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)["median"]["point_estimate"]


def fmt_ns(ns):
    if ns is None:
        return ""
    return f"{ns / 1000:.2f} µs" if abs(ns) >= 1000 else f"{ns:.0f} ns"


def size_label(size):
    size = int(size)
    if size >= 1024 * 1024:
        return f"{size // (1024 * 1024)} MiB"
    if size >= 1024:
        return f"{size // 1024} KiB"
    return f"{size} B"


def verdict(floor, size, ratio, overhead):
    size = int(size)
    if floor == "raw_hmac":
        if size == 0:
            return "yes" if overhead <= 400 else "**no**"
        if size == 1024:
            return "yes" if ratio <= 1.25 else "**no**"
        return "yes" if ratio <= 1.02 else "**no**"
    if floor == "raw_ed25519":
        return "yes" if ratio <= 1.10 else "**no**"
    return "n/a"


def main():
    root, baselines = sys.argv[1], sys.argv[2:]
    header = "| scheme | body | row |"
    rule = "|---|---|---|"
    for baseline in baselines:
        header += f" {baseline}: floor | {baseline}: row | {baseline}: ratio | {baseline}: overhead |"
        rule += "---:|---:|---:|---:|"
    header += " target met |"
    rule += "---|"
    print(header)
    print(rule)
    for group in GROUPS:
        gdir = os.path.join(root, group)
        if not os.path.isdir(gdir):
            continue
        functions = sorted(os.listdir(gdir))
        floor = next((f for f in functions if f.startswith("raw_")), None)
        if floor is None:
            continue
        sizes = sorted(
            (s for s in os.listdir(os.path.join(gdir, floor)) if s.isdigit()), key=int
        )
        for size in sizes:
            for function in functions:
                if function in (floor, "report"):
                    continue
                columns = []
                last = None
                for baseline in baselines:
                    raw = median(root, group, floor, size, baseline)
                    value = median(root, group, function, size, baseline)
                    last = None
                    if value is None:
                        columns += [fmt_ns(raw), "", "", ""]
                    elif function == "no_layer" or raw is None:
                        columns += [fmt_ns(raw), fmt_ns(value), "", ""]
                    else:
                        ratio, overhead = value / raw, value - raw
                        columns += [fmt_ns(raw), fmt_ns(value), f"{ratio:.2f}", fmt_ns(overhead)]
                        last = (ratio, overhead)
                if not any(columns[1::4]):
                    continue
                met = verdict(floor, size, *last) if last else ""
                cells = [group, size_label(size), function] + columns + [met]
                print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
