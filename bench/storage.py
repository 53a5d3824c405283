"""Benchmark: recording storage throughput, LocalStorage (a directory) against S3Storage (a bucket).

For each backend: ``--count`` recordings of ``--size-kib`` random (incompressible) bytes, ``--concurrency``
operations in flight, each phase timed on its own:

* put (new): hash + upload of content not there yet;
* put (there): the same content again (the S3 backend asks HEAD and uploads nothing);
* get: whole recordings;
* range: 64 KiB at a random offset, four per recording (a player seeking);
* verify: stream + hash every recording.

Each line prints MiB/s (for range: of the bytes asked), operations per second, p50/p99 latency and
the CPU this process spent per operation (hashing, the client). Without ``--endpoint-url`` the S3
backend talks to moto's server started here as a subprocess (a Python stand-in, not a fast store:
its CPU is printed too, and bounds the S3 figures); with it, to a real server (MinIO, Ceph, AWS),
the secret taken from ``BENCH_S3_SECRET_ACCESS_KEY``.

    .venv/bin/python bench/storage.py                              # 40 × 1 MiB, 8 at a time, both
    .venv/bin/python bench/storage.py --count 20 --size-kib 4800   # ten-minute WAV recordings
    .venv/bin/python bench/storage.py --backends s3 --endpoint-url http://minio:9000 --bucket rec --access-key-id k
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recordings.s3 import S3Storage  # noqa: E402
from recordings.storage import LocalStorage, RecordingStorage  # noqa: E402

RANGE = 64 * 1024
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
MIB = 1024 * 1024


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


@contextmanager
def moto_server() -> Iterator[tuple[str, int]]:
    """moto's S3 server in a process of its own on a free port: its URL and pid."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit("moto's server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


async def _phase(name: str, jobs: list[Callable[[], Awaitable[int]]], concurrency: int,
                 server_pid: int | None) -> None:
    """Run ``jobs`` (each returns the bytes it moved) ``concurrency`` at a time and print the figures."""
    gate, latencies = asyncio.Semaphore(concurrency), []

    async def timed(job: Callable[[], Awaitable[int]]) -> int:
        async with gate:
            started = time.perf_counter()
            moved = await job()
            latencies.append(time.perf_counter() - started)
            return moved

    cpu, server_cpu, started = time.process_time(), _cpu_s(server_pid) if server_pid else 0.0, time.perf_counter()
    moved = sum(await asyncio.gather(*(timed(job) for job in jobs)))
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    line = (f"  {name:<12} {moved / MIB / wall:8.1f} MiB/s {len(jobs) / wall:8.1f} op/s   p50 "
            f"{statistics.median(latencies) * 1000:7.1f} ms  p99 {p99 * 1000:7.1f} ms   "
            f"CPU here {cpu / len(jobs) * 1000:6.2f} ms/op")
    if server_pid:
        line += f", server {(_cpu_s(server_pid) - server_cpu) / len(jobs) * 1000:6.2f} ms/op"
    print(line)


async def bench(storage: RecordingStorage, contents: list[bytes], concurrency: int, server_pid: int | None) -> None:
    keys: list[str] = []

    async def put(content: bytes) -> int:
        stored = await storage.put(content)
        keys.append(stored.key)
        return stored.size_bytes

    async def get(key: str) -> int:
        return len(await storage.get(key))

    async def ranged(key: str, start: int) -> int:
        return sum([len(chunk) async for chunk in storage.stream(key, start=start, end=start + RANGE - 1)])

    async def verify(key: str, sha256: str, size: int) -> int:
        assert await storage.verify(key, sha256), key
        return size

    stored, size, draw = len(contents), len(contents[0]), random.Random(15)
    await _phase("put (new)", [partial(put, c) for c in contents], concurrency, server_pid)
    await _phase("put (there)", [partial(put, c) for c in contents], concurrency, server_pid)
    await _phase("get", [partial(get, k) for k in keys[:stored]], concurrency, server_pid)
    await _phase("range 64KiB", [partial(ranged, k, draw.randrange(size - RANGE)) for k in keys[:stored] for _ in range(4)],
                 concurrency, server_pid)
    await _phase("verify", [partial(verify, k, k.removeprefix("sha256/"), size) for k in keys[:stored]],
                 concurrency, server_pid)
    for key in keys[:len(contents)]:
        await storage.delete(key)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--size-kib", type=int, default=1024)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--backends", default="local,s3")
    parser.add_argument("--endpoint-url", help="a real S3-compatible server (default: moto's, started here)")
    parser.add_argument("--bucket", default="bench-recordings")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--prefix", default="bench")
    parser.add_argument("--access-key-id", default="bench")
    args = parser.parse_args()
    draw = random.Random(1)
    contents = [draw.randbytes(args.size_kib * 1024) for _ in range(args.count)]
    print(f"{args.count} recordings of {args.size_kib} KiB, {args.concurrency} operations at a time, "
          f"{os.cpu_count()} cores")
    for backend in args.backends.split(","):
        if backend == "local":
            with tempfile.TemporaryDirectory(prefix="bench-storage-") as root:
                print(f"local directory {root} (each new file fsynced)")
                asyncio.run(bench(LocalStorage(Path(root)), contents, args.concurrency, None))
        elif args.endpoint_url:
            storage = S3Storage(bucket=args.bucket, endpoint_url=args.endpoint_url, region=args.region,
                                prefix=args.prefix, access_key_id=args.access_key_id,
                                secret_access_key=os.environ.get("BENCH_S3_SECRET_ACCESS_KEY", ""))
            print(f"S3 {args.endpoint_url} bucket {args.bucket}")
            asyncio.run(bench(storage, contents, args.concurrency, None))
        else:
            import boto3

            with moto_server() as (url, pid):
                boto3.client("s3", endpoint_url=url, region_name=args.region, aws_access_key_id="bench",
                             aws_secret_access_key="bench").create_bucket(Bucket=args.bucket)
                print(f"S3 (obstore) against moto's server at {url}, in its own process")
                storage = S3Storage(bucket=args.bucket, endpoint_url=url, region=args.region, prefix=args.prefix,
                                    access_key_id="bench", secret_access_key="bench")
                asyncio.run(bench(storage, contents, args.concurrency, pid))


if __name__ == "__main__":
    main()
