#!/usr/bin/env python3
"""Prints the pipeline-vs-floor table from `cargo bench -p handler --bench pipeline` results.

For each tests/fixtures/*.json it reads Criterion's
target/criterion/<fixture>/{parse_only_floor,pipeline}/new/estimates.json (mean point estimate,
in ns) and prints a markdown table with the ratio pipeline / floor, plus the `stages` groups.
The target is a whole pipeline of at most 3x the parse-only floor; the exit status is 1 when a
fixture is over it (or results are missing), so CI can use it as a gate.

    cargo bench -p handler --bench pipeline
    python3 tests/bench/criterion-report.py [--target-dir target] [--max-ratio 3]
"""

import argparse
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def mean_ns(path: Path):
    try:
        with path.open() as f:
            return json.load(f)["mean"]["point_estimate"]
    except (OSError, KeyError, ValueError):
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target-dir", type=Path, default=ROOT / "target")
    parser.add_argument("--fixtures", type=Path, default=ROOT / "tests" / "fixtures")
    parser.add_argument("--max-ratio", type=float, default=3.0)
    args = parser.parse_args()

    criterion = args.target_dir / "criterion"
    rows, missing = [], []
    for fixture in sorted(args.fixtures.glob("*.json")):
        group = fixture.stem
        floor = mean_ns(criterion / group / "parse_only_floor" / "new" / "estimates.json")
        pipeline = mean_ns(criterion / group / "pipeline" / "new" / "estimates.json")
        if floor is None or pipeline is None:
            missing.append(group)
            continue
        rows.append((group, fixture.stat().st_size, floor, pipeline, pipeline / floor))

    if not rows:
        print(f"no Criterion results under {criterion}: run `cargo bench -p handler --bench pipeline`")
        return 1

    print("| fixture | body bytes | floor µs | pipeline µs | pipeline / floor |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for group, size, floor, pipeline, ratio in rows:
        flag = " ⚠" if ratio > args.max_ratio else ""
        print(f"| {group} | {size} | {floor / 1000:.2f} | {pipeline / 1000:.2f} | {ratio:.2f}×{flag} |")
    ratios = [r[4] for r in rows]
    worst = max(rows, key=lambda r: r[4])
    geomean = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
    print()
    print(f"- max ratio: {worst[4]:.2f}× ({worst[0]})")
    print(f"- geometric-mean ratio: {geomean:.2f}×")
    over = [r[0] for r in rows if r[4] > args.max_ratio]
    print(f"- target ≤ {args.max_ratio:g}×: " + (f"exceeded by {', '.join(over)}" if over else "met by every fixture"))

    for group, fixture in (("stages", "stack_update-succeeded"), ("stages-unknown-kind-huge", "unknown-kind-huge")):
        stages = [(s, mean_ns(criterion / group / s / "new" / "estimates.json"))
                  for s in ("verify", "parse", "format", "serialize")]
        if any(ns is None for _, ns in stages):
            continue
        total = sum(ns for _, ns in stages)
        print()
        print(f"| stage ({fixture}) | µs | share |")
        print("| --- | ---: | ---: |")
        for stage, ns in stages:
            print(f"| {stage} | {ns / 1000:.2f} | {100 * ns / total:.0f}% |")

    if missing:
        print(f"\nmissing results for: {', '.join(missing)}", file=sys.stderr)
    return 1 if over or missing else 0


if __name__ == "__main__":
    sys.exit(main())
