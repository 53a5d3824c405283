"""Benchmark: signed Twilio status callbacks against the running service.

Starts ``dialer serve`` (uvicorn, one process) on a fresh PostgreSQL database, creates CALLS
calls, then for DURATION seconds posts signed call-status callbacks (each a new event, walking
calls through initiated → ringing → in-progress → completed) from CONCURRENCY clients, and
prints sustained requests per second and p50/p99 latency.

    .venv/bin/python bench/webhooks.py [--duration 15] [--concurrency 32] [--calls 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

from dialer.calls.models import Call  # noqa: E402
from dialer.kit.db import create_engine  # noqa: E402
from dialer.kit.migrations import upgrade_to_head  # noqa: E402
from dialer.settings import REPO_ROOT  # noqa: E402

TOKEN = "bench-webhook-token-0123456789abcdef"
STATUSES = ("initiated", "ringing", "in-progress", "completed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def prepare(url: str, calls: int) -> None:
    engine = create_engine(url)
    await upgrade_to_head(engine, REPO_ROOT / "alembic")
    now = dt.datetime.now(dt.timezone.utc)
    async with engine.begin() as conn:
        await conn.execute(insert(Call), [
            {"id": i, "direction": "outbound", "carrier": "twilio", "carrier_call_id": f"CA{i:032d}",
             "state": "requested", "requested_at": now, "updated_at": now, "conversation": False,
             "recording_missing": False} for i in range(1, calls + 1)])
    await engine.dispose()


async def drive(base: str, calls: int, duration: float, concurrency: int) -> tuple[int, list[float], int]:
    validator = RequestValidator(TOKEN)
    events = itertools.product(STATUSES, range(1, calls + 1))  # every call initiated, then every call ringing, …
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + duration

    async def client() -> None:
        nonlocal errors
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            for seq, (status, call_id) in enumerate(events):
                if time.perf_counter() > deadline:
                    return
                path = f"/webhooks/twilio/call-status?call_id={call_id}"
                params = {"CallSid": f"CA{call_id:032d}", "CallStatus": status, "SequenceNumber": str(STATUSES.index(status)),
                          "CallDuration": "30", "AccountSid": "AC" + "0" * 32}
                signature = validator.compute_signature(f"{base}{path}", params)
                t0 = time.perf_counter()
                response = await http.post(path, data=params, headers={"X-Twilio-Signature": signature})
                latencies.append((time.perf_counter() - t0) * 1000)
                if response.status_code != 204:
                    errors += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return int(len(latencies) / (time.perf_counter() - t0)), latencies, errors


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    admin = await asyncpg.connect(args.pg_admin)
    await admin.execute("DROP DATABASE IF EXISTS dialer_bench_webhooks WITH (FORCE)")
    await admin.execute("CREATE DATABASE dialer_bench_webhooks")
    await admin.close()
    url = args.pg_admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + "/dialer_bench_webhooks"
    await prepare(url, args.calls)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DIALER_DATABASE_URL": url, "DIALER_PORT": str(port), "DIALER_PUBLIC_BASE_URL": base,
           "DIALER_TWILIO_AUTH_TOKEN": TOKEN, "DIALER_RUN_SCHEDULER": "false", "DIALER_LOG_LEVEL": "WARNING",
           "DIALER_SECRET_KEY": "bench-secret-key-0123456789-abcdefghijklmnop"}
    server = subprocess.Popen([str(Path(sys.executable).with_name("dialer")), "serve"], env=env)
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                await asyncio.sleep(0.2)
        rate, latencies, errors = await drive(base, args.calls, args.duration, args.concurrency)
    finally:
        server.terminate()
        server.wait(timeout=10)
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    print(f"signed call-status callbacks, PostgreSQL, 1 uvicorn process, {args.concurrency} concurrent clients:")
    print(f"  {len(latencies):,} requests in {args.duration:.0f} s  ->  {rate} /s sustained  "
          f"p50 {statistics.median(latencies):.1f} ms  p99 {p99:.1f} ms  non-204: {errors}")


if __name__ == "__main__":
    asyncio.run(main())
