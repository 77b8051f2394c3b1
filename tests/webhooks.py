"""The provider side of a webhook service: its uvicorn workers started as a subprocess, and
callbacks posted as Twilio (form) and DialNexa (JSON) post them, many in flight at once."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import AsyncExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import attrs
import httpx

from tests.callbacks import Callback

__all__ = ["Posted", "post_all", "serving"]

START = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serving(app: str, app_dir: Path, env: Mapping[str, str], log: Path) -> Iterator[str]:
    """ASGI `app` ("module:attribute" in `app_dir`) under 4 uvicorn workers on 127.0.0.1,
    its output into `log`; yields the base URL once it answers /health."""
    port = _free_port()
    with log.open("w") as out:
        workers = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", app, "--app-dir", str(app_dir),
             "--host", "127.0.0.1", "--port", str(port), "--workers", "4",
             "--log-level", "warning", "--no-access-log"],
            env=dict(env), stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if workers.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn {app} did not start:\n{log.read_text()}")
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield url
    finally:
        workers.terminate()
        workers.wait(timeout=30)


def _request(callback: Callback) -> tuple[str, dict[str, object]]:
    """The callback as its provider posts it: Twilio's form for a call SID (CA...), else
    DialNexa-style JSON."""
    at = START + timedelta(seconds=callback.seq)
    if callback.call.startswith("CA"):
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


@attrs.frozen
class Posted:
    #: each callback, the HTTP status it was answered with, and the seconds it took
    answers: list[tuple[Callback, int, float]]
    #: the most requests in flight at one moment
    most: int
    seconds: float


#: connections per httpx client: one client's pool slows down as its connections grow (its
#: requests wait on each other in the pool), so the load comes from several small clients
PER_CLIENT = 4


async def _post_all(url: str, phases: list[list[Callback]], in_flight: int) -> Posted:
    answers: list[tuple[Callback, int, float]] = []
    busy, most = 0, 0
    limits = httpx.Limits(max_connections=PER_CLIENT, max_keepalive_connections=PER_CLIENT)
    start = time.perf_counter()
    async with AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=url, limits=limits, timeout=60)
            )
            for _ in range(-(-in_flight // PER_CLIENT))
        ]

        async def worker(client: httpx.AsyncClient, queue: Iterator[Callback]) -> None:
            nonlocal busy, most
            for callback in queue:
                path, payload = _request(callback)
                busy += 1
                most = max(most, busy)
                sent = time.perf_counter()
                response = await client.post(path, **payload)  # type: ignore[arg-type]
                busy -= 1
                answers.append((callback, response.status_code, time.perf_counter() - sent))

        for phase in phases:  # the next once the whole phase is answered
            queue = iter(phase)
            await asyncio.gather(
                *(worker(clients[n % len(clients)], queue) for n in range(in_flight))
            )
    return Posted(answers, most, time.perf_counter() - start)


def post_all(url: str, phases: list[list[Callback]], in_flight: int) -> Posted:
    """Post every callback, at most `in_flight` at once, phase after phase."""
    return asyncio.run(_post_all(url, phases, in_flight))
