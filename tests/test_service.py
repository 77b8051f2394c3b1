"""The webhook service example (docs/examples/service) under real uvicorn workers: thousands
of calls' callbacks, shuffled, duplicated, late and impossible, many in flight at once, end
with every row at its history's final status, and no row ever held a status the runtime
would refuse."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from pathlib import Path

import httpx
import psycopg

from statemachine.runtime import definition
from tests import pgserver
from tests.callbacks import deliveries, interleaved, log_changes, replayed
from tests.webhooks import post_all, serving

SERVICE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "service"
TWILIO = definition("twilio.call", [SERVICE.parent / "twilio"])
DIALNEXA = definition("dialnexa.call")


def test_many_workers_store_every_call_at_its_final_status(
    server: pgserver.Server, tmp_path: Path
) -> None:
    env = {**os.environ, "DATABASE_URL": server.conninfo}
    migrate = [sys.executable, str(SERVICE / "app.py"), "migrate"]
    done = subprocess.run(migrate, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    with psycopg.connect(server.conninfo, autocommit=True) as conn:
        for table in ("twilio_calls", "dialnexa_calls"):
            log_changes(conn, table)
    rnd = random.Random(20)
    twilio = deliveries(TWILIO, 1000, rnd, prefix="CA")
    dialnexa = deliveries(DIALNEXA, 1000, rnd, prefix="dn-")
    first, after = interleaved(twilio, dialnexa), [*twilio.after, *dialnexa.after]
    log = tmp_path / "service.log"
    with serving("app:app", SERVICE, env, log) as url:
        posted = post_all(url, [first, after], in_flight=48)
        # a callback without its fields is a bad request, not a verdict
        missing = httpx.post(f"{url}/twilio/call", data={"CallSid": "CA1"})
        assert (missing.status_code, missing.text) == (400, "bad callback: KeyError('CallStatus')")
    # callbacks of one call reached different workers at once
    assert posted.most >= 32
    assert len(posted.answers) == len(first) + len(after)
    codes = {(c.what, code) for c, code, _ in posted.answers}
    assert {code for _, code in codes} <= {200, 422}, codes  # no 5xx, no 400
    assert {what for what, code in codes if code == 200} == {"legal", "late", "duplicate"}
    assert {what for what, code in codes if code == 422} == {"impossible"}
    # every refusal is logged for an operator, with its verdict
    logged = re.findall(r"refused (\S+) (\S+): (illegal|unknown):", log.read_text())
    assert sorted(logged) == sorted(
        (c.status, c.call, "unknown" if c.status == "no-such-status" else "illegal")
        for c, code, _ in posted.answers
        if code == 422
    )
    with psycopg.connect(server.conninfo, autocommit=True) as conn:
        for table, sent, d in (
            ("twilio_calls", twilio, TWILIO),
            ("dialnexa_calls", dialnexa, DIALNEXA),
        ):
            held = dict(conn.execute(f"SELECT id, status FROM {table}").fetchall())
            assert held == sent.finals, table
            assert replayed(conn, d, table) == held
