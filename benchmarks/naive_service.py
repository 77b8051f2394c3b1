"""The naive handler bench_service.py measures the example against: the same routes and
callbacks, each stored with a plain upsert (`ON CONFLICT DO UPDATE SET status = ...`) into a
table without enforcement, as most webhook handlers are written. Fast, and wrong whenever
callbacks arrive out of order, twice, or impossible."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs" / "examples" / "service"))

import psycopg
from app import Fields, dialnexa_json, health, lifespan, twilio_form
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route


def handler(
    table: str, read: Callable[[Request], Awaitable[Fields]]
) -> Callable[[Request], Awaitable[Response]]:
    upsert = (
        f"INSERT INTO {table} (id, status, seq, at) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, seq = EXCLUDED.seq, "
        "at = EXCLUDED.at"
    )

    async def handle(request: Request) -> Response:
        try:
            fields = await read(request)
        except (KeyError, ValueError, TypeError, AttributeError) as err:
            return PlainTextResponse(f"bad callback: {err!r}", status_code=400)
        pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] = request.app.state.pool
        async with pool.connection() as conn:
            await conn.execute(upsert, fields)
        return JSONResponse({"call": fields[0], "status": fields[1]})

    return handle


app = Starlette(
    routes=[
        Route("/twilio/call", handler("naive_twilio_calls", twilio_form), methods=["POST"]),
        Route("/dialnexa/call", handler("naive_dialnexa_calls", dialnexa_json), methods=["POST"]),
        Route("/health", health),
    ],
    lifespan=lifespan,
)
