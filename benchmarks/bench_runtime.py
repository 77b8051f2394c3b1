"""Runtime benchmark: status style vs trigger style vs bare transitions, in one run.

    python benchmarks/bench_runtime.py [--events N] [--objects N]

Prints ns per event (median of the repeats) for each way of validating the same stream of
legal DialNexa call events, their ratios, and the memory each tracked object costs. The timed
loops hold only the calls: objects are put back at each event's source (and, for the keyed
row, given the key of the event before, so the keys are compared) before each repeat. Targets
(issue #3): `check` within 3x of a bare set-membership loop and at least 20x faster than a
bare transitions trigger; `advance` adds no per-object memory; the trigger style adds at most
10% over bare transitions. Issue #8: `classify` within 2x of `check`; `apply` within 10x of
the floor; `apply` keeps nothing per object beyond the status and the last key.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from transitions import Machine

from statemachine.runtime import lifecycle
from statemachine.runtime.machine import machine_config

#: what one kept key costs: a 3-tuple holding an int (seq) and two None
KEY_BYTES = sys.getsizeof((1, None, None)) + sys.getsizeof(10**6)


class Call:
    """A plain object as a service stores it."""

    __slots__ = ("__dict__", "last_key", "status")

    def __init__(self, status: str) -> None:
        self.status = status
        self.last_key: object = None


def median_of(
    repeats: int, func: Callable[[], None], events: int, setup: Callable[[], None] | None = None
) -> float:
    """Median ns per event over `repeats` runs; `setup` (untimed) runs before each."""
    times = []
    for _ in range(repeats):
        if setup is not None:
            setup()
        gc.collect()
        start = time.perf_counter_ns()
        func()
        times.append((time.perf_counter_ns() - start) / events)
    return statistics.median(times)


def memory_per_object(make: Callable[[int], list[Any]], count: int) -> float:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    keep = make(count)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del keep
    return (after - before) / count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--objects", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    lc = lifecycle("dialnexa.call")
    locked = lifecycle("dialnexa.call", locked=True)
    moves = [m for src in lc.definition.states for m in lc._moves[src].values() for m in m]
    rnd = random.Random(7)
    stream = [rnd.choice(moves) for _ in range(args.events)]
    pairs = [(m.source, m.dest) for m in stream]
    allowed = {(m.source, m.dest) for m in moves}
    n = len(stream)

    bare = Machine(model=None, **machine_config(lc.definition, {}))
    bare_model, ours_model, locked_model = Call("created"), Call("created"), Call("created")
    bare.add_model(bare_model)
    lc.attach(ours_model)
    locked.attach(locked_model)

    def trigger_loop(model: Any) -> Callable[[], None]:
        fired = [(m.source, getattr(model, m.trigger)) for m in stream]

        def run() -> None:
            for source, fire in fired:
                model.status = source
                fire()

        return run

    def floor() -> None:
        for pair in pairs:
            pair in allowed  # noqa: B015

    def check() -> None:
        ck = lc.check
        for s, d in pairs:
            ck(s, d)

    objects = [Call(s) for s, _ in pairs]
    dests = [d for _, d in pairs]

    def reset() -> None:
        """Every object back at its event's source, holding the key of the event before: the
        timed loops then hold nothing but the calls."""
        for seq, (obj, (s, _)) in enumerate(zip(objects, pairs, strict=True)):
            obj.status = s
            obj.last_key = (seq - 1, None, None)

    def advance() -> None:
        adv = lc.advance
        for obj, d in zip(objects, dests, strict=True):
            adv(obj, d)

    def classify() -> None:
        cl = lc.classify
        for s, d in pairs:
            cl(s, d)

    def apply() -> None:
        app = lc.apply
        for obj, d in zip(objects, dests, strict=True):
            app(obj, d)

    def apply_keyed() -> None:
        app = lc.apply
        for seq, (obj, d) in enumerate(zip(objects, dests, strict=True)):
            app(obj, d, seq=seq, key_field="last_key")

    timed: list[tuple[str, Callable[[], None], Callable[[], None] | None]] = [
        ("set membership (floor)", floor, None),
        ("status style: check()", check, None),
        ("status style: classify()", classify, None),
        ("status style: advance()", advance, reset),
        ("status style: apply()", apply, reset),
        ("apply(seq=, key_field=)", apply_keyed, reset),
        ("bare transitions trigger", trigger_loop(bare_model), None),
        ("trigger style (ours)", trigger_loop(ours_model), None),
        ("trigger style, locked", trigger_loop(locked_model), None),
    ]
    rows = [(name, median_of(args.repeats, func, n, setup)) for name, func, setup in timed]
    ns = dict(rows)
    floor_ns, check_ns = ns["set membership (floor)"], ns["status style: check()"]
    bare_ns, ours_ns = ns["bare transitions trigger"], ns["trigger style (ours)"]
    classify_ns, apply_ns = ns["status style: classify()"], ns["status style: apply()"]

    plain = memory_per_object(lambda k: [Call("created") for _ in range(k)], args.objects)

    def advanced(k: int) -> list[Call]:
        calls = [Call("created") for _ in range(k)]
        for c in calls:
            lc.advance(c, "sent")
        return calls

    def registered(k: int) -> list[Call]:
        m = Machine(model=None, **machine_config(lc.definition, {}))
        calls = [Call("created") for _ in range(k)]
        m.add_model(calls)
        return calls

    def applied(k: int) -> list[Call]:
        calls = [Call("created") for _ in range(k)]
        for c in calls:
            lc.apply(c, "sent")
        return calls

    def applied_keyed(k: int) -> list[Call]:
        calls = [Call("created") for _ in range(k)]
        for seq, c in enumerate(calls):
            lc.apply(c, "sent", seq=seq, key_field="last_key")
        return calls

    with_advance = memory_per_object(advanced, args.objects)
    with_apply = memory_per_object(applied, args.objects)
    with_apply_key = memory_per_object(applied_keyed, args.objects)
    with_add_model = memory_per_object(registered, args.objects)

    print(f"python {sys.version.split()[0]}, {n} events of dialnexa.call, median of {args.repeats}")
    print()
    print("| path | ns/event | x floor | bare trigger / this |")
    print("| --- | ---: | ---: | ---: |")
    for name, ns in rows:
        print(f"| {name} | {ns:,.0f} | {ns / floor_ns:.2f} | {bare_ns / ns:.1f} |")
    print()
    print("| tracked object | bytes/object |")
    print("| --- | ---: |")
    print(f"| plain object | {plain:,.0f} |")
    print(f"| plain object after advance() | {with_advance:,.0f} |")
    print(f"| plain object after apply() | {with_apply:,.0f} |")
    print(f"| plain object after apply(seq=, key_field=) | {with_apply_key:,.0f} |")
    print(f"| registered with Machine.add_model | {with_add_model:,.0f} |")
    print()
    targets = [
        ("check() within 3x of the floor", check_ns <= 3 * floor_ns, f"{check_ns / floor_ns:.2f}x"),
        (
            "check() >= 20x faster than a bare trigger",
            bare_ns >= 20 * check_ns,
            f"{bare_ns / check_ns:.0f}x",
        ),
        (
            "advance() adds no per-object memory",
            with_advance - plain < 1,
            f"{with_advance - plain:+.0f} B",
        ),
        (
            "classify() within 2x of check()",
            classify_ns <= 2 * check_ns,
            f"{classify_ns / check_ns:.2f}x",
        ),
        (
            "apply() within 10x of the floor",
            apply_ns <= 10 * floor_ns,
            f"{apply_ns / floor_ns:.1f}x",
        ),
        (
            "apply() adds no per-object memory",
            with_apply - plain < 1,
            f"{with_apply - plain:+.0f} B",
        ),
        (
            "apply(key_field=) keeps only the last key",
            with_apply_key - plain <= KEY_BYTES,
            f"{with_apply_key - plain:+.0f} B (a key: {KEY_BYTES} B)",
        ),
        (
            "trigger style <= 10% over bare transitions",
            ours_ns <= 1.10 * bare_ns,
            f"{(ours_ns / bare_ns - 1) * 100:+.1f}%",
        ),
    ]
    for name, met, value in targets:
        print(f"{'MET ' if met else 'MISS'} {name}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
