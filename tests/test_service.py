"""The webhook service example (docs/examples/service) under real uvicorn workers: thousands
of calls' callbacks, shuffled, duplicated, late and impossible, many in flight at once, end
with every row at its history's final status, and no row ever held a status the runtime
would refuse."""

from __future__ import annotations

import asyncio
import os
import random
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import attrs
import httpx
import psycopg
import pytest

from statemachine.runtime import definition
from tests import pgserver
from tests.callbacks import Callback, deliveries, log_changes, replayed

SERVICE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "service"
TWILIO = definition("twilio.call", [SERVICE.parent / "twilio"])
DIALNEXA = definition("dialnexa.call")
START = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@attrs.frozen
class Service:
    url: str
    log: Path


@pytest.fixture
def service(server: pgserver.Server, tmp_path: Path) -> Iterator[Service]:
    """The example's tables migrated, and its app running under 4 uvicorn workers."""
    env = {**os.environ, "DATABASE_URL": server.conninfo}
    done = subprocess.run(
        [sys.executable, str(SERVICE / "app.py"), "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    with psycopg.connect(server.conninfo, autocommit=True) as conn:
        for table in ("twilio_calls", "dialnexa_calls"):
            log_changes(conn, table)
    port, log = free_port(), tmp_path / "service.log"
    with log.open("w") as out:
        workers = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app:app", "--app-dir", str(SERVICE),
             "--host", "127.0.0.1", "--port", str(port), "--workers", "4",
             "--log-level", "warning", "--no-access-log"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert workers.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield Service(url, log)
    finally:
        workers.terminate()
        workers.wait(timeout=30)


def request(callback: Callback, twilio: bool) -> tuple[str, dict[str, object]]:
    """The provider's callback as it posts it: Twilio's form, or DialNexa-style JSON."""
    at = START + timedelta(seconds=callback.seq)
    if twilio:
        form = {
            "CallSid": callback.call,
            "CallStatus": callback.status,
            "SequenceNumber": str(callback.seq),
            "Timestamp": format_datetime(at),
        }
        return "/twilio/call", {"data": form}
    body = {
        "call_id": callback.call,
        "status": callback.status,
        "sequence": callback.seq,
        "timestamp": at.isoformat(),
    }
    return "/dialnexa/call", {"json": body}


async def deliver(
    url: str, phases: list[list[Callback]], in_flight: int
) -> tuple[list[tuple[Callback, int]], int]:
    """Post every callback, at most `in_flight` at once, phase after phase; the answers and
    the most requests that were in flight at one moment."""
    answers: list[tuple[Callback, int]] = []
    busy, most = 0, 0
    limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        for phase in phases:

            async def worker(queue: Iterator[Callback]) -> None:
                nonlocal busy, most
                for callback in queue:
                    path, payload = request(callback, callback.call.startswith("CA"))
                    busy += 1
                    most = max(most, busy)
                    response = await client.post(path, **payload)  # type: ignore[arg-type]
                    busy -= 1
                    answers.append((callback, response.status_code))

            queue = iter(phase)
            await asyncio.gather(*(worker(queue) for _ in range(in_flight)))
    return answers, most


def test_many_workers_store_every_call_at_its_final_status(
    server: pgserver.Server, service: Service
) -> None:
    rnd = random.Random(20)
    twilio = deliveries(TWILIO, 1000, rnd, prefix="CA")
    dialnexa = deliveries(DIALNEXA, 1000, rnd, prefix="dn-")
    # the two providers' callbacks interleaved, each in its own (shuffled) order
    first = [
        c
        for _, c in sorted(
            [
                (i / len(sent.first), c)
                for sent in (twilio, dialnexa)
                for i, c in enumerate(sent.first)
            ],
            key=lambda p: p[0],
        )
    ]
    answers, most = asyncio.run(
        deliver(service.url, [first, [*twilio.after, *dialnexa.after]], in_flight=48)
    )
    assert most >= 32
    assert len(answers) == len(first) + len(twilio.after) + len(dialnexa.after)
    codes = {(c.what, code) for c, code in answers}
    assert {code for _, code in codes} <= {200, 422}, codes  # no 5xx, no 400
    assert {what for what, code in codes if code == 200} == {"legal", "late", "duplicate"}
    assert {what for what, code in codes if code == 422} == {"impossible"}
    refused = [c for c, code in answers if code == 422]
    logged = re.findall(r"refused (\S+) (\S+): (illegal|unknown):", service.log.read_text())
    assert sorted(logged) == sorted(
        (c.status, c.call, "unknown" if c.status == "no-such-status" else "illegal")
        for c in refused
    )
    with psycopg.connect(server.conninfo, autocommit=True) as conn:
        for table, sent, d in (
            ("twilio_calls", twilio, TWILIO),
            ("dialnexa_calls", dialnexa, DIALNEXA),
        ):
            held = dict(conn.execute(f"SELECT id, status FROM {table}").fetchall())
            assert held == sent.finals, table
            assert replayed(conn, d, table) == held
