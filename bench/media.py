"""Benchmark: the SIP media process — CPU per relayed packet and recorded calls per media core.

Starts ``python -m dialer.telephony.media`` (uvloop) as a subprocess and, for each concurrency
level (``--calls 50,200,400``), sets up that many calls over the control socket (two legs each,
``remote`` pointing at the load generator's sockets, recording on, bridged), then runs a load
generator in a separate process (uvloop, connected UDP sockets): every call's agent and party each
send a 20 ms G.711 A-law frame every 20 ms (100 packets/s per call into the media process, 100 out),
phases spread evenly over the 20 ms. After a one-second warm-up it measures for ``--seconds``:

* the media process's CPU from ``/proc/<pid>/stat`` (utime + stime) over exactly the measured
  window, per packet relayed and as a share of one core;
* "recorded calls per media core": calls ÷ cores busy — how many such calls one core would carry
  at this cost (the extrapolation ignores what changes near saturation; the loss figures at each
  level are the check on it);
* loss: packets the generator sent that never came back through the relay (after a drain);
* added latency p50/p99: send → receive of each packet through the relay, timed inside the
  generator (its own scheduling delay is included: both share this machine's cores);
* the recordings: total seconds written against calls × wall time, checked once the calls stop.

    .venv/bin/python bench/media.py                       # 50, 200, 400 calls, 10 s each
    .venv/bin/python bench/media.py --calls 300 --seconds 20
    .venv/bin/python bench/media.py --no-record           # the relay alone

``BENCH_MEDIA_CMD`` replaces ``-m dialer.telephony.media`` in the media process's command line (to run
it under a profiler or a watchdog script).
"""

from __future__ import annotations

import argparse
import array
import asyncio
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dialer.telephony.media import MediaClient  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
HEADER = struct.Struct("!BBHII")
STAMP = struct.Struct("!q")
WARMUP_S = 1.0
DRAIN_S = 0.5


def _cpu_s(pid: int) -> tuple[float, float]:
    """utime and stime of a process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLOCK_TICKS, int(fields[12]) / CLOCK_TICKS


def _switches(pid: int) -> int:
    """Times the process was preempted (involuntary context switches) so far."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("nonvoluntary_ctxt_switches"):
            return int(line.split()[1])
    return 0


# --- the load generator (a process of its own) --------------------------------------------------


class _Phone(asyncio.DatagramProtocol):
    __slots__ = ("transport", "sequence", "ssrc", "sent", "received", "latencies", "measuring", "payload")
    since_ns = 0  # packets stamped before the measured window are not counted when they come back

    def __init__(self, ssrc: int, payload: bytes, latencies: array.array[float]) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.sequence = 0
        self.ssrc = ssrc
        self.sent = 0
        self.received = 0
        self.latencies = latencies
        self.measuring = False
        self.payload = payload

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self) -> None:
        self.sequence += 1
        packet = (HEADER.pack(0x80, 8, self.sequence & 0xFFFF, (160 * self.sequence) & 0xFFFFFFFF, self.ssrc)
                  + STAMP.pack(time.perf_counter_ns()) + self.payload)
        self.transport.sendto(packet)  # type: ignore[union-attr]
        if self.measuring:
            self.sent += 1

    def datagram_received(self, data: bytes, addr: object) -> None:
        if self.measuring:
            stamp = STAMP.unpack_from(data, 12)[0]
            if stamp >= _Phone.since_ns:
                self.received += 1
                self.latencies.append((time.perf_counter_ns() - stamp) / 1e6)

    def error_received(self, exc: Exception) -> None:
        pass


async def _generate(ports: list[int], seconds: float) -> None:
    """Generator process body: stdin gives the media ports, stdout reports (JSON lines)."""
    from dialer.telephony.media.g711 import Codec, encode_frame  # noqa: PLC0415

    loop = asyncio.get_running_loop()
    tone = struct.pack("<160h", *(round(6000 * math.sin(2 * math.pi * 600 * i / 8000)) for i in range(160)))
    payload = encode_frame(tone, Codec.PCMA)[8:]
    latencies: array.array[float] = array.array("d")
    phones: list[_Phone] = []
    for index, port in enumerate(ports):
        phone = _Phone(0x10000 + index, payload, latencies)
        await loop.create_datagram_endpoint(lambda p=phone: p, local_addr=("127.0.0.1", 0),  # type: ignore[misc]
                                            remote_addr=("127.0.0.1", port))
        phones.append(phone)
    print(json.dumps({"phones": [p.transport.get_extra_info("sockname")[1] for p in phones]}), flush=True)  # type: ignore[union-attr]
    await loop.run_in_executor(None, sys.stdin.readline)  # "go"

    slots = 20  # 1 ms each: phones spread evenly over the 20 ms frame
    buckets = [phones[i::slots] for i in range(slots)]
    start = loop.time()
    measure_from, measure_to = start + WARMUP_S, start + WARMUP_S + seconds
    measuring = False
    tick = 0
    while True:
        now = loop.time()
        if not measuring and now >= measure_from:
            measuring = True
            _Phone.since_ns = time.perf_counter_ns()
            for phone in phones:
                phone.measuring = True
            print(json.dumps({"measuring": True}), flush=True)
        if now >= measure_to:
            break
        while start + tick * 0.001 <= now:
            for phone in buckets[tick % slots]:
                phone.send()
            tick += 1
        await asyncio.sleep(max(0.0, start + tick * 0.001 - loop.time()))
    sent = sum(p.sent for p in phones)
    print(json.dumps({"stopped": True}), flush=True)
    await asyncio.sleep(DRAIN_S)  # packets still in flight count as received, not lost
    for phone in phones:
        phone.measuring = False
    received = sum(p.received for p in phones)
    ordered = sorted(latencies)
    result = {
        "sent": sent, "received": received, "cpu_s": time.process_time(),
        "p50_ms": ordered[len(ordered) // 2] if ordered else None,
        "p99_ms": ordered[int(len(ordered) * 0.99)] if ordered else None,
        "max_ms": ordered[-1] if ordered else None,
    }
    print(json.dumps(result), flush=True)


def generator_main() -> None:
    import uvloop  # noqa: PLC0415

    ports = json.loads(sys.stdin.readline())
    uvloop.run(_generate(ports["ports"], ports["seconds"]))


# --- the bench -------------------------------------------------------------------------------


async def _read_json(stream: asyncio.StreamReader) -> dict:
    line = await stream.readline()
    if not line:
        raise RuntimeError("the load generator exited")
    return json.loads(line)


async def run_level(client: MediaClient, media_pid: int, calls: int, seconds: float, record: bool,
                    directory: Path) -> dict:
    """One concurrency level: set up, load, measure, tear down."""
    legs = []
    for n in range(calls):
        for leg in ("agent", "party"):
            endpoint = await client.allocate(f"b{n}", leg)  # type: ignore[arg-type]
            legs.append((f"b{n}", leg, endpoint.port))
    generator = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--generator", stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert generator.stdin is not None and generator.stdout is not None
    generator.stdin.write(json.dumps({"ports": [port for _, _, port in legs], "seconds": seconds}).encode() + b"\n")
    await generator.stdin.drain()
    phones = (await _read_json(generator.stdout))["phones"]
    for (call, leg, _), phone_port in zip(legs, phones):
        await client.set_remote(call, leg, ip="127.0.0.1", port=phone_port, codec="PCMA", pt=8, te_pt=101)  # type: ignore[arg-type]
    recording_since: dict[str, float] = {}
    for n in range(calls):
        if record:
            recording_since[f"b{n}"] = time.perf_counter()
            await client.record(f"b{n}", str(directory / f"b{n}.wav"))
        await client.bridge(f"b{n}")
    generator.stdin.write(b"go\n")
    await generator.stdin.drain()
    await _read_json(generator.stdout)  # measuring
    slots0 = (await client.request("query"))["slots"]
    cpu0, wall0, switches0 = _cpu_s(media_pid), time.perf_counter(), _switches(media_pid)
    await _read_json(generator.stdout)  # stopped
    cpu1, wall1, switches1 = _cpu_s(media_pid), time.perf_counter(), _switches(media_pid)
    slots1 = (await client.request("query"))["slots"]
    result = await _read_json(generator.stdout)
    await generator.wait()
    recorded_s = recording_wall_s = 0.0
    for n in range(calls):
        stopped = await client.stop(f"b{n}")
        if stopped.recording is not None:
            recorded_s += stopped.recording.duration_s
            recording_wall_s += time.perf_counter() - recording_since[f"b{n}"]
    for path in directory.glob("*.wav"):
        path.unlink()
    result.update(media_user_s=cpu1[0] - cpu0[0], media_system_s=cpu1[1] - cpu0[1],
                  slots={k: slots1[k] - slots0[k] for k in slots1}, switches=switches1 - switches0, calls=calls, media_cpu_s=sum(cpu1) - sum(cpu0), wall_s=wall1 - wall0, recorded_s=recorded_s,
                  recorded_expected_s=recording_wall_s)
    return result


def _report(r: dict, record: bool) -> None:
    busy = r["media_cpu_s"] / r["wall_s"]
    per_packet_us = 1e6 * r["media_cpu_s"] / max(r["sent"], 1)
    loss = 1 - r["received"] / max(r["sent"], 1)
    print(f"  {r['calls']:4d} calls: {r['sent'] / r['wall_s']:7.0f} packets/s relayed   media CPU {busy * 100:5.1f} % of a core"
          f" = {per_packet_us:5.1f} µs/packet   → {'recorded' if record else 'relayed'} calls per media core "
          f"≈ {r['calls'] / busy if busy else float('inf'):5.0f}")
    print(f"              of which user {1e6 * r['media_user_s'] / max(r['sent'], 1):.1f} µs, "
          f"kernel {1e6 * r['media_system_s'] / max(r['sent'], 1):.1f} µs per packet")
    print(f"              loss {loss * 100:.3f} % ({r['sent'] - r['received']} of {r['sent']:,})   "
          f"added latency p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, max {r['max_ms']:.1f} ms   "
          f"(generator CPU {r['cpu_s']:.1f} s)")
    slots = r["slots"]
    print(f"              media 20 ms slots in the window: {slots['done']} done, {slots['late']} caught up late, "
          f"{slots['skipped']} skipped; media process preempted {r['switches']:,} times (other work on the cores)")
    if record:
        print(f"              recordings: {r['recorded_s']:,.1f} s of audio written over {r['recorded_expected_s']:,.1f} s "
              f"from record to stop (command round trips included)")


async def main(args: argparse.Namespace) -> None:
    levels = [int(n) for n in args.calls.split(",")]
    directory = Path(tempfile.mkdtemp(prefix="bench-media-"))
    control = str(directory / "media.sock")
    media = subprocess.Popen([sys.executable, *os.environ.get("BENCH_MEDIA_CMD", "-m dialer.telephony.media").split(), "--control", control, "--ip", "127.0.0.1",
                              "--ports", args.ports, "--log-level", "WARNING"],
                             cwd=Path(__file__).resolve().parent.parent)
    client = MediaClient(control, timeout_s=60)
    try:
        for _ in range(200):
            try:
                await client.connect()
                break
            except Exception:
                await asyncio.sleep(0.05)
        print(f"media process (uvloop) pid {media.pid}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; "
              f"{'recording on' if args.record else 'recording off'}; {args.seconds:.0f} s per level; "
              f"100 packets/s in per call (50 per leg), 100 out")
        results = []
        for calls in levels:
            results.append(await run_level(client, media.pid, calls, args.seconds, args.record, directory))
            _report(results[-1], args.record)
        print(f"  (load average now {os.getloadavg()[0]:.2f})")
        print("  summary: " + "; ".join(
            f"{r['calls']} calls {1e6 * r['media_cpu_s'] / max(r['sent'], 1):.1f} µs/packet, "
            f"{r['calls'] * r['wall_s'] / r['media_cpu_s']:.0f}/core, loss {r['sent'] - r['received']}, "
            f"p50/p99 {r['p50_ms']:.1f}/{r['p99_ms']:.1f} ms" for r in results))
    finally:
        await client.close()
        media.terminate()
        media.wait()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    if "--generator" in sys.argv:
        generator_main()
        raise SystemExit(0)
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calls", default="50,200,400", help="concurrency levels, comma-separated")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per level")
    parser.add_argument("--ports", default="30000-31999", help="the media process's RTP range")
    parser.add_argument("--record", action=argparse.BooleanOptionalAction, default=True)
    asyncio.run(main(parser.parse_args()))
