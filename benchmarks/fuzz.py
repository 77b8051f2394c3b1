"""Mutation fuzzing of `check`: no input may raise, hang or give a finding without a place.

Seeds are the bundled definitions and the bad-input corpus of tests/test_malformed.py; each
input is a few random mutations of one seed (spans deleted, repeated or swapped, hostile
YAML tokens inserted: tags, anchors, merge keys, dates, huge numbers, control characters),
checked in-process through `load_registry` as `statemachine check FILE` does.

    python benchmarks/fuzz.py --minutes 30 [--seed N] [--out DIR]

prints the inputs run and every escape (an exception, a finding without file, line and
column, or an input slower than --slow seconds), each saved under --out to replay with
`statemachine check FILE`; with --compare, it also counts the inputs that libyaml's and
PyYAML's parsers read differently (they disagree on some invalid YAML, such as tabs; the
first 20 are saved).
Exit status 1 if anything escaped.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from statemachine.io.registry import bundled_dir, load_registry  # noqa: E402
from statemachine.io.yamldoc import read_document  # noqa: E402
from statemachine.model.definition import Definition  # noqa: E402

__all__ = ["check_input", "inputs", "paths_agree", "seeds"]

#: fragments that reach the reader's and checker's edge cases
TOKENS = [
    b"!!int ",
    b"!!float ",
    b"!!bool ",
    b"!!timestamp ",
    b"!!binary ",
    b"!!str ",
    b"!!null ",
    b"!!set ",
    b"!!omap ",
    b"!!map ",
    b"!!seq ",
    b"!!python/name:os.system ",
    b"!custom ",
    b"! ",
    b"&a ",
    b"*a",
    b"&b ",
    b"*b",
    b"<<: *a\n",
    b"<<: [*a, *a]\n",
    b"<<: ",
    b"=",
    b"2024-13-01",
    b"2024-02-30",
    b"2001-12-14t21:59:43.10-05:00",
    b"1" * 5000,
    b"0x",
    b"0b2",
    b"1:2:3",
    b".inf",
    b"-.nan",
    b"on",
    b"off",
    b"yes",
    b"no",
    b"y",
    b"~",
    b"null",
    b"true",
    b"[",
    b"]",
    b"{",
    b"}",
    b": ",
    b"- ",
    b"? ",
    b"|",
    b">-",
    b"'",
    b'"',
    b"#",
    b"---\n",
    b"...\n",
    b"%YAML 1.1\n",
    b"\t",
    b"\x00",
    b"\x1b[31m",
    b"\r",
    b"\n",
    b"  ",
    b"\xef\xbb\xbf",
    b"\xff",
    "\u202e".encode(),
    "\u0441".encode(),
    b"*",
    b"states",
    b"transitions",
    b"initial",
    b"source",
    b"dest",
    b"trigger",
    b"final",
    b"aliases",
    b"mappings",
    b"entries",
    b"acknowledgements",
    b"groups",
    b"settings",
    b"guards",
    b"conditions",
    b"stale_after",
    b"machine",
    b"reported",
    b"evidence",
    b"may_",
    b"is_",
    b"in-progress",
    b"a" * 300,
]


def seeds() -> list[bytes]:
    """The bundled definitions and the bad-input corpus."""
    from tests.test_malformed import CORPUS

    files = sorted(bundled_dir().rglob("*.yaml"))
    return [path.read_bytes() for path in files] + [CORPUS[name] for name in sorted(CORPUS)]


def _mutate(data: bytes, rng: random.Random, pool: list[bytes]) -> bytes:
    for _ in range(rng.randint(1, 6)):
        size = len(data)
        i, j = sorted(rng.randrange(size + 1) for _ in range(2))
        op = rng.randrange(7)
        if op == 0:  # delete a span
            data = data[:i] + data[j:]
        elif op == 1:  # insert a token
            data = data[:i] + rng.choice(TOKENS) + data[i:]
        elif op == 2:  # replace a span by a token
            data = data[:i] + rng.choice(TOKENS) + data[j:]
        elif op == 3:  # repeat a short span
            data = data[:j] + data[i : min(j, i + 200)] * rng.randint(1, 4) + data[j:]
        elif op == 4:  # swap two lines
            lines = data.split(b"\n")
            a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[a], lines[b] = lines[b], lines[a]
            data = b"\n".join(lines)
        elif op == 5:  # splice another seed in
            other = rng.choice(pool)
            k = rng.randrange(len(other) + 1)
            data = data[:i] + other[k : k + rng.randint(1, 400)] + data[i:]
        else:  # flip a byte
            if size:
                k = rng.randrange(size)
                data = data[:k] + bytes([rng.randrange(256)]) + data[k + 1 :]
    return data


def inputs(rng: random.Random, pool: list[bytes]) -> Iterator[bytes]:
    """Endless mutated inputs."""
    while True:
        yield _mutate(rng.choice(pool), rng, pool)


def check_input(path: Path, context: Mapping[str, Definition]) -> str | None:
    """Check one file as `statemachine check` does; what escaped, or None."""
    try:
        found = load_registry([path], context=context)
    except Exception:
        return traceback.format_exc()
    for finding in found.findings:
        loc = finding.location
        if loc.file != str(path) or loc.line is None or loc.line < 1 or not loc.col:
            return f"finding without a place: {finding!r}"
    return None


def paths_agree(path: Path) -> bool:
    """Whether libyaml's and the pure-Python parser's readings give the same document."""
    return read_document(path) == read_document(path, fast=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--slow", type=float, default=5.0, help="seconds an input may take")
    parser.add_argument("--out", type=Path, default=Path("fuzz-escapes"))
    parser.add_argument(
        "--compare", action="store_true", help="also compare libyaml's and PyYAML's readings"
    )
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    rng = random.Random(seed)
    pool = seeds()
    context = load_registry([bundled_dir()]).machines
    deadline = time.monotonic() + args.minutes * 60
    ran = escaped = differ = 0
    print(f"seed {seed}; {len(pool)} seed inputs; {args.minutes} minute(s)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.yaml"
        for data in inputs(rng, pool):
            if time.monotonic() > deadline:
                break
            path.write_bytes(data)
            start = time.monotonic()
            problem = check_input(path, context)
            took = time.monotonic() - start
            if problem is None and took > args.slow:
                problem = f"slow: {took:.1f} s"
            ran += 1
            if args.compare and not paths_agree(
                path
            ):  # the parsers disagree on this YAML: worth a look
                differ += 1
                if differ <= 20:
                    args.out.mkdir(parents=True, exist_ok=True)
                    (args.out / f"differ-{seed}-{ran}.yaml").write_bytes(data)
            if problem is not None:
                escaped += 1
                args.out.mkdir(parents=True, exist_ok=True)
                saved = args.out / f"escape-{seed}-{ran}.yaml"
                saved.write_bytes(data)
                print(f"ESCAPE {saved}: {problem}", flush=True)
            if ran % 5000 == 0:
                print(f"{ran} inputs, {escaped} escape(s), {differ} differ", flush=True)
    print(
        f"done: {ran} inputs in {args.minutes} minute(s), {escaped} escape(s); "
        f"libyaml and pure-Python readings differ on {differ}",
        flush=True,
    )
    return 1 if escaped else 0


if __name__ == "__main__":
    sys.exit(main())
