"""Construction benchmark: building a Lifecycle and attaching models, and how each grows.

    python benchmarks/bench_construction.py [--repeats N] [--sizes 10,100,1000,5000]
        [--models 1000,10000,100000] [--bare 1000,10000]

Builds a generated chain-and-fan definition (state i moves to i+1, every state can be
cancelled into the last one, every state has an alias) at each size, in process, and
registers fresh models with `attach()`; beside it, the same registration through bare
transitions' `Machine.add_model`. Prints medians of the repeats and the growth exponent
(the slope of log time over log size, fitted over every size and between the two largest).
Targets (issue #12): both exponents of construction and of `attach()` <= 1.1.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import statistics
import sys
import time
from collections.abc import Callable, Sequence

from growth import slope
from transitions import Machine

from statemachine.model.definition import Alias, Definition, State, Transition
from statemachine.runtime import Lifecycle
from statemachine.runtime.machine import machine_config

TARGET = 1.1


def chain(n: int) -> Definition:
    """n states: a chain `next` from each to the following, a fan `cancel` from each to the
    last (final) one, and an alias `legacy_<state>` for every state."""
    names = [f"s{i}" for i in range(n)]
    last = names[-1]
    moves = [Transition("next", a, b) for a, b in itertools.pairwise(names)]
    moves += [Transition("cancel", a, last) for a in names[:-2]]
    return Definition(
        name=f"bench.chain{n}",
        states={s: State(s, final=s == last) for s in names},
        transitions=tuple(moves),
        initial=names[0],
        aliases={f"legacy_{s}": Alias(f"legacy_{s}", s) for s in names},
    )


class Model:
    """A plain model, as a service attaches one."""


def median_seconds(
    repeats: int, setup: Callable[[], object], run: Callable[[object], object]
) -> float:
    """Median wall time of `run(setup())` over `repeats`, setup and collection untimed."""
    times = []
    for _ in range(repeats):
        arg = setup()
        gc.collect()
        gc.disable()
        start = time.perf_counter()
        run(arg)
        times.append(time.perf_counter() - start)
        gc.enable()
        del arg
    return statistics.median(times)


def table(title: str, unit: str, points: Sequence[tuple[int, float]]) -> tuple[float, float]:
    """Print one measured series; returns its fitted and its last-step exponents."""
    print(f"| {title} | {unit} | ms | µs per {unit[:-1]} |")
    print("| --- | ---: | ---: | ---: |")
    for n, seconds in points:
        print(f"| | {n:,} | {seconds * 1e3:,.2f} | {seconds / n * 1e6:,.2f} |")
    fitted, last = slope(points), slope(points[-2:])
    print(f"| growth exponent | | fitted {fitted:.2f} | largest two {last:.2f} |")
    print()
    return fitted, last


def ints(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", type=ints, default=[10, 100, 1000, 5000])
    parser.add_argument("--models", type=ints, default=[1000, 10_000, 100_000])
    parser.add_argument("--bare", type=ints, default=[1000, 10_000])
    args = parser.parse_args()

    construction = [
        (n, median_seconds(args.repeats, lambda n=n: chain(n), Lifecycle)) for n in args.sizes
    ]
    small = chain(3)

    def ours(count: int) -> float:
        def fresh() -> tuple[Lifecycle, list[Model]]:
            return Lifecycle(small), [Model() for _ in range(count)]

        def run(arg: object) -> None:
            target, models = arg  # type: ignore[misc]
            for model in models:
                target.attach(model)

        return median_seconds(args.repeats, fresh, run)

    def bare(count: int) -> float:
        def fresh() -> tuple[Machine, list[Model]]:
            machine = Machine(model=None, **machine_config(small, {}))
            return machine, [Model() for _ in range(count)]

        def run(arg: object) -> None:
            machine, models = arg  # type: ignore[misc]
            for model in models:
                machine.add_model(model)

        return median_seconds(args.repeats, fresh, run)

    attached = [(n, ours(n)) for n in args.models]
    registered = [(n, bare(n)) for n in args.bare]

    print(f"python {sys.version.split()[0]}, medians of {args.repeats}")
    print()
    c_fit, c_last = table("Lifecycle(definition)", "states", construction)
    a_fit, a_last = table("attach() one model at a time", "models", attached)
    if len(registered) >= 2:
        table("bare transitions Machine.add_model", "models", registered)
    for name, fit, last in (("construction", c_fit, c_last), ("attach()", a_fit, a_last)):
        met = max(fit, last) <= TARGET
        print(
            f"{'MET ' if met else 'MISS'} {name} growth exponent <= {TARGET}: "
            f"fitted {fit:.2f}, largest two {last:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
