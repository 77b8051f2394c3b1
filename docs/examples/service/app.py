"""A webhook service storing call statuses into PostgreSQL from several worker processes.

Twilio posts form callbacks (`CallSid`, `CallStatus`, `SequenceNumber`, `Timestamp`) for the
call lifecycle of docs/examples/twilio/call.yaml; DialNexa-style JSON (`call_id`, `status`,
`sequence`, `timestamp`) goes to `dialnexa.call`. Each callback is one call of the generated
`apply_<table>()` through `statemachine.sql.deliver.Delivery`: the database judges it against
the row under the row's lock, so callbacks of one call handled by different workers at once
are still judged one after the other, exactly as the runtime would.

    export DATABASE_URL=postgresql:///calls
    python docs/examples/service/app.py migrate      # tables and enforcement, once
    uvicorn app:app --app-dir docs/examples/service --workers 4

Answers: 200 with the verdict for what the runtime acknowledges (applied, skipped, and the
late and repeated deliveries it leaves alone, so the provider stops retrying); 422 for what
it refuses (illegal, unknown: retrying cannot help), logged for an operator; 400 for a
callback missing its fields.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from statemachine.runtime import definition
from statemachine.runtime.streams import DEFAULT_POLICY, Action, Verdict
from statemachine.sql.deliver import Delivery
from statemachine.sql.postgres import enforce_sql

TWILIO = Delivery(
    definition("twilio.call", [Path(__file__).parent.parent / "twilio"]), "twilio_calls"
)
DIALNEXA = Delivery(definition("dialnexa.call"), "dialnexa_calls")

log = logging.getLogger("service")


def migrate(conn: psycopg.Connection[Any]) -> None:
    """What a migration does once, before the workers start: the tables and their
    enforcement (idempotent)."""
    for delivery in (TWILIO, DIALNEXA):
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {delivery.table} (id text PRIMARY KEY, status text, "
            "seq bigint, at timestamptz, updated timestamptz NOT NULL DEFAULT now())"
        )
        conn.execute(enforce_sql(delivery.definition, delivery.table, seq="seq", at="at"))


def answer(call: str, verdict: Verdict) -> Response:
    body = {"call": call, "verdict": verdict.kind, "status": verdict.after}
    if DEFAULT_POLICY.action(verdict.kind) is Action.RAISE:
        log.warning("refused %s %s: %s: %s", verdict.status, call, verdict.kind, verdict.message)
        return JSONResponse({**body, "error": verdict.message}, status_code=422)
    return JSONResponse(body)


Fields = tuple[str, str, int | None, datetime | None]


def handler(
    delivery: Delivery, read: Callable[[Request], Awaitable[Fields]]
) -> Callable[[Request], Awaitable[Response]]:
    async def handle(request: Request) -> Response:
        try:
            call, status, seq, at = await read(request)
        except (KeyError, ValueError, TypeError, AttributeError) as err:
            return PlainTextResponse(f"bad callback: {err!r}", status_code=400)
        pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] = request.app.state.pool
        async with pool.connection() as conn:
            verdict = await delivery.apply_async(conn, call, status, seq=seq, at=at)
        return answer(call, verdict)

    return handle


async def twilio_form(request: Request) -> Fields:
    form = await request.form()
    seq, at = form.get("SequenceNumber"), form.get("Timestamp")
    return (
        str(form["CallSid"]),
        str(form["CallStatus"]),
        None if seq is None else int(str(seq)),
        None if at is None else parsedate_to_datetime(str(at)),  # RFC 2822, as Twilio sends
    )


async def dialnexa_json(request: Request) -> Fields:
    body = json.loads(await request.body())
    seq, at = body.get("sequence"), body.get("timestamp")
    return (
        str(body["call_id"]),
        str(body["status"]),
        None if seq is None else int(seq),
        None if at is None else datetime.fromisoformat(at),
    )


async def health(request: Request) -> Response:
    return PlainTextResponse("ok")


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    # one pool per worker process: a connection serves one callback at a time
    pool = AsyncConnectionPool(
        os.environ["DATABASE_URL"], min_size=8, max_size=8, kwargs={"autocommit": True}, open=False
    )
    await pool.open(wait=True)
    app.state.pool = pool
    try:
        yield
    finally:
        await pool.close()


logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(name)s %(message)s")
app = Starlette(
    routes=[
        Route("/twilio/call", handler(TWILIO, twilio_form), methods=["POST"]),
        Route("/dialnexa/call", handler(DIALNEXA, dialnexa_json), methods=["POST"]),
        Route("/health", health),
    ],
    lifespan=lifespan,
)

if __name__ == "__main__":
    if sys.argv[1:] != ["migrate"]:
        sys.exit(f"usage: {sys.argv[0]} migrate  (with DATABASE_URL set)")
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        migrate(conn)
