"""Benchmark: signed Twilio status callbacks against the running service.

Starts ``dialer serve`` (uvicorn, ``--workers`` processes) on a fresh PostgreSQL database, creates
CALLS calls, signs every callback up front (each a new event, walking calls through initiated →
ringing → in-progress → completed, in that order across all calls), then for DURATION seconds
posts them from CONCURRENCY keep-alive connections and prints sustained requests per second,
p50/p99 latency, and the CPU used by the server, the load generator and PostgreSQL (all share
this machine's cores, so the client's share is part of the honest picture).

Closed loop (the default): ``wrk`` (Debian package ``wrk``) replays the pre-signed requests from a
Lua script, each connection sending its next request when the last is answered: the sustained
maximum. Without wrk (or with ``--client python``) a lean asyncio client writes the pre-rendered
requests on raw sockets. Open loop (``--rate 600``): requests fall due at a fixed rate whatever the
answers, and latency counts from the due instant, so p99 is the one a carrier sending that many
callbacks would see. No client signs or builds anything while the clock runs.

Callbacks are stored and answered at once; the service's inbox applies them (moves the calls)
behind the answers. After the load the bench waits until every stored event is applied and prints
how far behind the inbox ended up (the backlog when the load stopped, and how long it took to clear):
a sustained rate only counts if the processing keeps up with it too.

The CPU line is the fair reading on a shared machine: "could serve" divides the cores by the CPU
one request costs the server, PostgreSQL (this database's backends and its shared processes) and
the client together.

    .venv/bin/python bench/webhooks.py [--duration 15] [--concurrency 32] [--workers 2] [--client wrk]
    .venv/bin/python bench/webhooks.py --rate 600 --concurrency 64
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

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
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
DATABASE = "dialer_bench_webhooks"

WRK_SCRIPT = r"""
-- Replays pre-signed requests (one per line: path TAB signature TAB body), each thread its share, in order.
local requests, index = {}, 0
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  local file, threads, n = args[1], tonumber(args[2]), 0
  for line in io.lines(file) do
    if n % threads == id then
      local path, signature, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
      requests[#requests + 1] = wrk.format("POST", path, {
        ["Content-Type"] = "application/x-www-form-urlencoded", ["X-Twilio-Signature"] = signature}, body)
    end
    n = n + 1
  end
end

function request()
  index = index % #requests + 1  -- wraps only if the run outlasts the events (then: duplicates)
  return requests[index]
end

function done(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "non_2xx": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


@dataclass
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    failed: int
    client_cpu_s: float
    p99_by_second: list[float] | None = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- CPU accounting (/proc) -----------------------------------------------------------------------
def _proc_stat(pid: int) -> tuple[str, int, float] | None:
    """(command, parent pid, user+system CPU seconds) of a live process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    command = raw[raw.index("(") + 1:raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2:].split()
    return command, int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _processes() -> dict[int, tuple[str, int, float]]:
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _proc_stat(int(entry))) is not None:
            found[int(entry)] = stat
    return found


def _postgres_for(database: str, pid: int, command: str) -> bool:
    """A PostgreSQL process working for ``database``, or one of its shared background processes
    (other databases' backends, e.g. a test suite running beside the bench, are not counted)."""
    if not command.startswith("postgres"):
        return False
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    return f" {database} " in title or not ("(" in title or "[local]" in title)


def cpu_snapshot(server_pid: int, database: str = DATABASE) -> dict[str, float]:
    """CPU seconds so far of the server's process tree, of PostgreSQL's processes for the bench's
    database, and of the whole machine."""
    processes = _processes()
    tree, frontier = {server_pid}, [server_pid]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, (_, ppid, _) in processes.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    machine = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = sum(machine) - machine[3] - machine[4]  # all but idle and iowait
    return {
        "server": sum(processes[pid][2] for pid in tree if pid in processes),
        "postgres": sum(cpu for pid, (command, _, cpu) in processes.items() if _postgres_for(database, pid, command)),
        "machine": busy / CLOCK_TICKS,
    }


# --- the events ------------------------------------------------------------------------------------
def signed_requests(base: str, calls: int, wave: int = 100) -> list[tuple[str, str, str]]:
    """(path with query, X-Twilio-Signature, form body) for every event, in delivery order: calls in
    waves of WAVE, each wave walked initiated → ringing → in-progress → completed, so the mix of
    events (ends included, the costliest to apply) is the same throughout the run."""
    validator = RequestValidator(TOKEN)
    out = []
    for first in range(1, calls + 1, wave):
        for sequence, status in enumerate(STATUSES):
            for call_id in range(first, min(calls, first + wave - 1) + 1):
                path = f"/webhooks/twilio/call-status?call_id={call_id}"
                params = {"CallSid": f"CA{call_id:032d}", "CallStatus": status, "SequenceNumber": str(sequence),
                          "CallDuration": "30", "AccountSid": "AC" + "0" * 32}
                out.append((path, validator.compute_signature(f"{base}{path}", params), urlencode(params)))
    return out


async def applied_behind(dsn: str, timeout_s: float = 120.0) -> tuple[int, float, int, int]:
    """(events pending when the load stopped, seconds until none was, events applied, calls completed)."""
    conn = await asyncpg.connect(dsn)
    try:
        pending_sql = "SELECT count(*) FROM carrier_events WHERE processed_at IS NULL"
        backlog, t0 = await conn.fetchval(pending_sql), time.perf_counter()
        while await conn.fetchval(pending_sql) and time.perf_counter() - t0 < timeout_s:
            await asyncio.sleep(0.05)
        applied = await conn.fetchval("SELECT count(*) FROM carrier_events WHERE processed_at IS NOT NULL")
        completed = await conn.fetchval("SELECT count(*) FROM calls WHERE state = 'completed'")
        return backlog, time.perf_counter() - t0, applied, completed
    finally:
        await conn.close()


async def prepare(url: str, calls: int) -> None:
    engine = create_engine(url)
    await upgrade_to_head(engine, REPO_ROOT / "alembic")
    now = dt.datetime.now(dt.timezone.utc)
    async with engine.begin() as conn:
        for first in range(1, calls + 1, 5000):
            await conn.execute(insert(Call), [
                {"id": i, "direction": "outbound", "carrier": "twilio", "carrier_call_id": f"CA{i:032d}",
                 "state": "requested", "requested_at": now, "updated_at": now, "conversation": False,
                 "recording_missing": False} for i in range(first, min(calls, first + 4999) + 1)])
    await engine.dispose()


# --- load generators -------------------------------------------------------------------------------
def drive_wrk(wrk: str, base: str, requests: list[tuple[str, str, str]], duration: float, concurrency: int,
              threads: int) -> Result:
    with tempfile.TemporaryDirectory() as tmp:
        lines, script = Path(tmp) / "requests.tsv", Path(tmp) / "replay.lua"
        lines.write_text("".join(f"{path}\t{signature}\t{body}\n" for path, signature, body in requests))
        script.write_text(WRK_SCRIPT)
        before = os.times()
        done = subprocess.run(
            [wrk, f"-t{threads}", f"-c{concurrency}", f"-d{duration:.0f}s", "--timeout", "10s", "-s", str(script),
             base, "--", str(lines), str(threads)], capture_output=True, text=True, check=True)
        after = os.times()
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    return Result(summary["requests"], summary["duration_us"] / 1e6, summary["p50_us"] / 1000, summary["p99_us"] / 1000,
                  summary["non_2xx"] + summary["socket_errors"],
                  (after.children_user - before.children_user) + (after.children_system - before.children_system))


def _render(port: int, requests: list[tuple[str, str, str]]) -> list[bytes]:
    return [
        (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
         f"X-Twilio-Signature: {signature}\r\nContent-Length: {len(body)}\r\n\r\n{body}").encode()
        for path, signature, body in requests
    ]


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes) -> bool:
    """Send one pre-rendered request; read the status line, headers and body. True for a 204."""
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:" and (length := int(line[15:])):
            await reader.readexactly(length)
    return head[9:12] == b"204"


def _result(latencies: list[float], seconds: float, failed: int, cpu_s: float) -> Result:
    ordered = sorted(latencies) or [0.0]
    return Result(len(latencies), seconds, statistics.median(ordered),
                  ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], failed, cpu_s)


async def drive_python(port: int, requests: list[tuple[str, str, str]], duration: float, concurrency: int) -> Result:
    """Closed loop: CONCURRENCY keep-alive connections, each sending its next request when the last is answered."""
    rendered = _render(port, requests)
    latencies: list[float] = []
    failed = next_index = 0
    deadline = time.perf_counter() + duration

    async def connection() -> None:
        nonlocal failed, next_index
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline:
                raw = rendered[next_index % len(rendered)]
                next_index += 1
                t0 = time.perf_counter()
                failed += not await _exchange(reader, writer, raw)
                latencies.append((time.perf_counter() - t0) * 1000)
        finally:
            writer.close()

    cpu0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return _result(latencies, time.perf_counter() - t0, failed, time.process_time() - cpu0)


async def drive_rate(port: int, requests: list[tuple[str, str, str]], duration: float, rate: float,
                     connections: int) -> Result:
    """Open loop: requests are due at a fixed RATE whatever the answers; connection k takes every
    CONNECTIONS-th slot from k. Latency counts from the instant a request was due, so a server that
    falls behind (or a late client) shows in p99 instead of being hidden by the client waiting."""
    rendered = _render(port, requests)
    latencies: list[float] = []
    timeline: list[tuple[float, float]] = []
    failed = 0
    total = int(duration * rate)
    loop = asyncio.get_running_loop()
    opened = [await asyncio.open_connection("127.0.0.1", port) for _ in range(connections)]
    start = loop.time() + 0.05

    async def connection(k: int) -> None:
        nonlocal failed
        reader, writer = opened[k]
        try:
            for i in range(k, total, connections):
                due = start + i / rate
                if (wait := due - loop.time()) > 0:
                    await asyncio.sleep(wait)
                failed += not await _exchange(reader, writer, rendered[i % len(rendered)])
                latencies.append((loop.time() - due) * 1000)
                timeline.append((due - start, latencies[-1]))
        finally:
            writer.close()

    cpu0 = time.process_time()
    await asyncio.gather(*(connection(k) for k in range(connections)))
    result = _result(latencies, loop.time() - start, failed, time.process_time() - cpu0)
    by_second: dict[int, list[float]] = {}
    for at, ms in timeline:
        by_second.setdefault(int(at), []).append(ms)
    result.p99_by_second = [sorted(v)[min(len(v) - 1, int(0.99 * len(v)))] for _, v in sorted(by_second.items())]
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=2.0,
                        help="seconds of the same load first, not counted (the pools fill, statements get prepared)")
    parser.add_argument("--concurrency", type=int, default=32, help="keep-alive connections")
    parser.add_argument("--calls", type=int, default=12000, help="calls to walk (4 events each); enough for the run")
    parser.add_argument("--workers", type=int, default=2, help="`dialer serve --workers` (one per core)")
    parser.add_argument("--rate", type=float, default=None,
                        help="open loop: requests due per second (latency from the due instant); default: closed loop")
    parser.add_argument("--client", choices=("wrk", "python"), default="wrk", help="closed loop's load generator")
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    wrk = shutil.which("wrk")
    if args.client == "wrk" and wrk is None and not args.rate:
        print("wrk is not installed (Debian: apt-get install wrk); using the Python client instead, "
              "which takes more of the machine's CPU.", file=sys.stderr)
        args.client = "python"

    admin = await asyncpg.connect(args.pg_admin)
    await admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    await admin.execute(f"CREATE DATABASE {DATABASE}")
    await admin.close()
    url = args.pg_admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{DATABASE}"
    await prepare(url, args.calls)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    requests = signed_requests(base, args.calls)
    env = {**os.environ, "DIALER_DATABASE_URL": url, "DIALER_PORT": str(port), "DIALER_PUBLIC_BASE_URL": base,
           "DIALER_TWILIO_AUTH_TOKEN": TOKEN, "DIALER_RUN_SCHEDULER": "false", "DIALER_LOG_LEVEL": "WARNING",
           "DIALER_SECRET_KEY": "bench-secret-key-0123456789-abcdefghijklmnop"}
    server = subprocess.Popen([str(Path(sys.executable).with_name("dialer")), "serve", "--workers", str(args.workers),
                               "--no-access-log"], env=env)
    try:
        for _ in range(150):
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
        load0 = os.getloadavg()[0]
        warm = int(args.warmup * (args.rate or 1000))  # the warm-up's events, sent first; the run has the rest
        if args.warmup:
            await drive_rate(port, requests[:warm], args.warmup, args.rate or 500, args.concurrency)
        measured = requests[warm:]
        cpu0, wall0 = cpu_snapshot(server.pid), time.perf_counter()
        if args.rate:
            args.client = "python, open loop"
            result = await drive_rate(port, measured, args.duration, args.rate, args.concurrency)
        elif args.client == "wrk":
            result = drive_wrk(wrk, base, measured, args.duration, args.concurrency, args.wrk_threads)
        else:
            result = await drive_python(port, measured, args.duration, args.concurrency)
        cpu1, wall = cpu_snapshot(server.pid), time.perf_counter() - wall0
        backlog, cleared_s, applied, completed = await applied_behind(url.replace("+asyncpg", ""))
    finally:
        server.terminate()
        server.wait(timeout=20)
    used = {name: cpu1[name] - cpu0[name] for name in cpu0}  # the load's window (applying included)
    offered = f"{args.rate:.0f}/s offered over {args.concurrency} connections" if args.rate else \
        f"{args.concurrency} connections"
    print(f"signed call-status callbacks, PostgreSQL, {args.workers} uvicorn worker(s), "
          f"{offered}, client {args.client}, {os.cpu_count()} cores, load before {load0:.2f}, "
          f"after {args.warmup:.0f} s of warm-up:")
    print(f"  {result.requests:,} requests in {result.seconds:.1f} s  ->  {result.requests / result.seconds:.0f} /s "
          f"sustained  p50 {result.p50_ms:.1f} ms  p99 {result.p99_ms:.1f} ms  failed: {result.failed}"
          f"{'  (events ran out: some were duplicates)' if result.requests > len(measured) else ''}")
    if result.p99_by_second:
        print("  p99 by second (ms): " + " ".join(f"{ms:.0f}" for ms in result.p99_by_second))
    print(f"  applied by the inbox: {applied:,} events ({completed:,} calls completed); backlog when the load "
          f"stopped {backlog:,}, cleared {cleared_s:.2f} s later")
    print(f"  CPU (cores busy over the run): server {used['server'] / wall:.2f}, client {result.client_cpu_s / wall:.2f}, "
          f"PostgreSQL {used['postgres'] / wall:.2f}, whole machine {used['machine'] / wall:.2f} of {os.cpu_count()}")
    per = {"server": used["server"], "PostgreSQL": used["postgres"], "client": result.client_cpu_s}
    per = {name: seconds / max(result.requests, 1) * 1e3 for name, seconds in per.items()}
    print("  CPU per request: " + ", ".join(f"{name} {ms:.2f} ms" for name, ms in per.items())
          + f"  ->  these {os.cpu_count()} cores could serve ~{os.cpu_count() / sum(per.values()) * 1e3:.0f} /s "
          "with nothing else running")


if __name__ == "__main__":
    try:
        import uvloop  # the lean client's loop (uvicorn[standard] brings it)
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())
