"""Scaling benchmark: `check` time as definitions grow, with the growth exponent.

    python benchmarks/bench_scaling.py [--repeats N]

Generates one definition per size (a chain of n states with a branch to a final state, and a
mapping over every state), and checks it as `statemachine check FILE` does (read, schema,
every check) in-process; then definitions whose n transitions lead to n undeclared states
(every one an unknown name with a suggestion to look for). Prints the median time per size
and the growth exponent (the slope of log time over log size, least squares over all sizes,
and between the two largest). Target (issue 10): every exponent at most 1.2.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from growth import slope

from statemachine.io.registry import load_registry

SIZES = (10, 100, 1_000, 5_000)
UNKNOWN = (1_000, 2_000, 4_000, 8_000)


def chain(n: int) -> str:
    lines = ["machine: bench.chain", "initial: s0", "states:"]
    lines += [f"  s{i}: {{description: step {i}}}" for i in range(n)]
    lines += ["  done: {final: true}", "transitions:"]
    lines += [f"  - {{trigger: t{i}, source: s{i}, dest: s{i + 1}}}" for i in range(n - 1)]
    lines += [f"  - {{trigger: finish, source: s{n - 1}, dest: done}}"]
    lines += ["  - {trigger: abort, source: '*', dest: done}"]
    lines += ["mappings:", "  label:", "    entries:"]
    lines += [f"      s{i}: label{i % 7}" for i in range(n)]
    return "\n".join(lines) + "\n"


def unknown(n: int) -> str:
    """n declared states, and n transitions to n undeclared ones (SM020 each)."""
    lines = ["machine: bench.unknown", "initial: s0", "states:"]
    lines += [f"  s{i}: {{}}" for i in range(n)]
    lines += ["  done: {final: true}", "transitions:"]
    lines += [f"  - {{trigger: t{i}, source: s{i}, dest: missing_{i}x}}" for i in range(n)]
    lines += [f"  - {{trigger: end{i}, source: s{i}, dest: done}}" for i in range(n)]
    return "\n".join(lines) + "\n"


def timed(path: Path, repeats: int) -> tuple[float, int]:
    times, findings = [], 0
    for _ in range(repeats):
        start = time.perf_counter()
        findings = len(load_registry([path]).findings)
        times.append(time.perf_counter() - start)
    return statistics.median(times), findings


def series(name: str, make: Callable[[int], str], sizes: tuple[int, ...], repeats: int) -> float:
    print(f"{name}:")
    print(f"  {'size':>6} {'median ms':>10} {'us/size':>8} {'findings':>8}")
    points = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = Path(tmp) / f"{name}-{n}.yaml"
            path.write_text(make(n))
            took, findings = timed(path, repeats)
            points.append((n, took))
            print(f"  {n:>6} {took * 1000:>10.1f} {took / n * 1e6:>8.1f} {findings:>8}")
    exponent = slope(points)
    top = slope(points[-2:])  # small sizes are dominated by fixed costs: look at the end too
    worst = max(exponent, top)
    print(
        f"  growth exponent {exponent:.2f} over all sizes, {top:.2f} between the two largest "
        f"(target <= 1.2: {'ok' if worst <= 1.2 else 'MISSED'})"
    )
    return worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    exponents = [
        series("states", chain, SIZES, args.repeats),
        series("unknown names", unknown, UNKNOWN, max(1, args.repeats // 2)),
    ]
    return 0 if all(e <= 1.2 for e in exponents) else 1


if __name__ == "__main__":
    sys.exit(main())
