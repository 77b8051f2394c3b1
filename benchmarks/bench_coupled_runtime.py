"""Coupled runtime benchmark: `Coupling.judge_start` / `judge_move` against `Lifecycle.apply`.

    python benchmarks/bench_coupled_runtime.py [--events N] [--repeats N]

Prints ns per event (median of the repeats) for `apply()` on a stream of legal DialNexa call
events (as bench_runtime times it) and, in the same run, for the coupled judgements of the
bundled relations: a call's start under its batch, a batch's move that enters no rule's
state, a batch entering `completed` with its calls counted (a mapping, or a callback
returning one), and a transfer entering `transfer_connected` with its legs counted (current
and reached). Target (issue #19): each judgement at most 2x `apply()`.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable, Mapping

from bench_runtime import Call, median_of

from statemachine.graph import graph_of
from statemachine.runtime import coupling, definition, lifecycle


def legal_moves(name: str) -> list[tuple[str, str]]:
    """Every (held, new) pair of one legal move of machine `name`."""
    graph = graph_of(definition(name))
    return [(src, dst) for src, dests in graph.successors.items() for dst in dests]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    n, rnd = args.events, random.Random(19)

    lc = lifecycle("dialnexa.call")
    call_moves = legal_moves("dialnexa.call")
    stream = [rnd.choice(call_moves) for _ in range(n)]
    objects = [Call(src) for src, _ in stream]
    dests = [dst for _, dst in stream]

    def reset() -> None:
        for obj, (src, _) in zip(objects, stream, strict=True):
            obj.status = src

    def apply() -> None:
        app = lc.apply
        for obj, dst in zip(objects, dests, strict=True):
            app(obj, dst)

    batch_calls = coupling("dialnexa.batch", "dialnexa.call")
    batch_statuses = list(batch_calls.parent.states)
    starts = [(rnd.choice(batch_statuses), rnd.choice(batch_calls.child.initial)) for _ in range(n)]

    def judge_start() -> None:
        judge = batch_calls.judge_start
        for parent, child in starts:
            judge(parent, child)

    quiet = [m for m in legal_moves("dialnexa.batch") if m[1] != "completed"]
    quiet_moves = [rnd.choice(quiet) for _ in range(n)]

    def judge_quiet_move() -> None:
        judge = batch_calls.judge_move
        for held, new in quiet_moves:
            judge(held, new)

    finals = batch_calls.child.final_states
    tallies: list[Mapping[str, int]] = [
        {rnd.choice(finals): rnd.randint(1, 50) for _ in range(3)} for _ in range(64)
    ]
    counted = [tallies[i % len(tallies)] for i in range(n)]

    def judge_completion() -> None:
        judge = batch_calls.judge_move
        for counts in counted:
            judge("running", "completed", counts)

    callbacks: list[Callable[[], Mapping[str, int]]] = [
        (lambda counts=counts: counts) for counts in tallies
    ]
    called = [callbacks[i % len(callbacks)] for i in range(n)]

    def judge_completion_callback() -> None:
        judge = batch_calls.judge_move
        for count in called:
            judge("running", "completed", count)

    transfer_legs = coupling("dialnexa.transfer", "dialnexa.transfer_leg")
    legs_now = {"completed": 1, "cancelled": 2}
    legs_ever = {"dialing": 3, "ringing": 3, "answered": 1, "winner": 1, "completed": 1}

    def judge_connected() -> None:
        judge = transfer_legs.judge_move
        for _ in range(n):
            judge("validating", "transfer_connected", legs_now, reached=legs_ever)

    timed: list[tuple[str, Callable[[], None], Callable[[], None] | None]] = [
        ("Lifecycle.apply() (call events)", apply, reset),
        ("judge_start(batch, call)", judge_start, None),
        ("judge_move(batch), no rule entered", judge_quiet_move, None),
        ("judge_move(batch -> completed, counts)", judge_completion, None),
        ("judge_move(batch -> completed, callback)", judge_completion_callback, None),
        ("judge_move(transfer -> transfer_connected)", judge_connected, None),
    ]
    rows = [(name, median_of(args.repeats, func, n, setup)) for name, func, setup in timed]
    apply_ns = rows[0][1]
    print(f"python {sys.version.split()[0]}, {n} events per path, median of {args.repeats}")
    print()
    print("| path | ns/event | x apply() |")
    print("| --- | ---: | ---: |")
    for name, ns in rows:
        print(f"| {name} | {ns:,.0f} | {ns / apply_ns:.2f} |")
    print()
    for name, ns in rows[1:]:
        met = ns <= 2 * apply_ns
        print(f"{'MET ' if met else 'MISS'} {name} <= 2x apply(): {ns / apply_ns:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
