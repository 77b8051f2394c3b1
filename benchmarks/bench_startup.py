"""Start-up benchmark: whole processes, as a CI job, a pre-commit hook or a new worker pays.

    python benchmarks/bench_startup.py [--repeats N]

Runs each command as a fresh process, interleaved (one of each per round), and prints the
median wall time of each and its ratio to the import floor: the cost of importing what the
package runs on (transitions, PyYAML, attrs, graphviz), beside `python -c pass`. Targets
(issue 12): `check` of the bundled machines, `validate` and a first `lifecycle()` each at most
1.5x the floor.

Every process runs as an installed package does: with its bytecode compiled (here into a
temporary `PYTHONPYCACHEPREFIX`, whatever `PYTHONDONTWRITEBYTECODE` says) and with the
schema verdicts the warm-up run left in a temporary cache folder (`XDG_CACHE_HOME`).
`check (no cache)` shows the cost without them (`STATEMACHINE_NO_CACHE=1`): a first run,
or a file changed since the last one. Every process starts in a temporary folder, so that it
runs the installed package (not a source tree in the current folder) and finds no
`pyproject.toml`. Measure a regular install (`pip install .`): an editable install's import
hook adds ~15 ms to every process, the floor included.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

PY = sys.executable
COMMANDS = {
    "python -c pass": [PY, "-c", "pass"],
    "import floor": [PY, "-c", "import transitions, yaml, attrs, graphviz"],
    "check (bundled)": [PY, "-m", "statemachine", "check"],
    "check (no cache)": [PY, "-m", "statemachine", "check"],
    "list": [PY, "-m", "statemachine", "list"],
    "validate": [
        PY,
        "-m",
        "statemachine",
        "validate",
        "dialnexa.call",
        "created",
        "sent",
        "completed",
    ],
    "first lifecycle()": [
        PY,
        "-c",
        "from statemachine.runtime import lifecycle; lifecycle('dialnexa.call')",
    ],
}
#: environment variables set for one command only
ONLY = {"check (no cache)": {"STATEMACHINE_NO_CACHE": "1"}}
TARGETS = {"check (bundled)": 1.5, "validate": 1.5, "first lifecycle()": 1.5}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    with tempfile.TemporaryDirectory() as temporary:
        env = {
            **os.environ,
            "PYTHONDONTWRITEBYTECODE": "",
            "PYTHONPYCACHEPREFIX": os.path.join(temporary, "bytecode"),
            "XDG_CACHE_HOME": os.path.join(temporary, "cache"),
        }
        envs = {name: {**env, **ONLY.get(name, {})} for name in COMMANDS}
        for name, command in COMMANDS.items():  # warm the caches; fail loudly if one fails
            subprocess.run(command, check=True, capture_output=True, env=envs[name], cwd=temporary)
        for _ in range(args.repeats):
            for name, command in COMMANDS.items():
                start = time.perf_counter()
                subprocess.run(
                    command, check=False, capture_output=True, env=envs[name], cwd=temporary
                )
                times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) for name, values in times.items()}
    floor = medians["import floor"]
    print(f"{'command':<20} {'median ms':>10} {'x floor':>8}  target")
    failed = 0
    for name, median in medians.items():
        target = TARGETS.get(name)
        ratio = median / floor
        verdict = "" if target is None else f"<= {target}x {'ok' if ratio <= target else 'MISSED'}"
        failed += target is not None and ratio > target
        print(f"{name:<20} {median * 1000:>10.1f} {ratio:>8.2f}  {verdict}")
    print(f"({args.repeats} interleaved rounds; medians)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
