"""SIP media: the in-project media process (RTP relay, two-channel recorder, prompt player) and
the ``MediaEngine`` interface the B2BUA drives it through: ``engine.MediaClient`` over the control
socket, ``fake.FakeMediaEngine`` in memory for unit tests (both pass ``tests/media/test_contract.py``).
The process's entry point is ``process.main(argv)``.

A media process (``python -m dialer.telephony.media --control SOCK --ip IP --ports 20000-20999``,
or ``dialer sip-media``) runs uvloop and nothing else; one per core. It is driven over a Unix
stream socket with newline-delimited JSON.

Requests and replies
--------------------
A request is one JSON object on one line: ``{"id": <any JSON>, "cmd": "<command>", ...fields}``.
Each gets exactly one reply line on the same connection, in order:
``{"id": .., "ok": true, ...result}`` or
``{"id": .., "ok": false, "error": "<code>", "detail": "<for people>", "field": "<name>"?}``.

========== ============================================= ==========================================
command    fields                                        result
========== ============================================= ==========================================
ping                                                     ``pid``
allocate   ``call``, ``leg`` ("agent" | "party")         ``ip``, ``port``: the leg's RTP socket (an
                                                         even port; port + 1 is held for RTCP).
                                                         Idempotent: a leg that has one gets the
                                                         same again. The call exists from its
                                                         first ``allocate`` until ``stop``.
remote     ``call``, ``leg``, ``ip``, ``port``, ``codec`` the far end's SDP. The leg sends there
           ("PCMA" | "PCMU"), ``pt``, ``te_pt`` (or      until the first RTP packet arrives: that
           null)                                         packet's source becomes the destination
                                                         (symmetric RTP, once per leg; a new
                                                         ``remote`` re-arms it).
play       ``call``, ``leg``, ``path`` (8 kHz mono       ``frames``, ``duration_s``. Plays to that
           16-bit PCM WAV)                               leg only, in its codec, 20 ms packets with
                                                         their own SSRC/sequence/timestamp, marker
                                                         on the first; replaces a prompt already
                                                         playing there. Refused once bridged.
stop_play  ``call``, ``leg``                             ``stopped``: whether one was playing
bridge     ``call``                                      relays agent ↔ party; prompts stop. Packets
                                                         (audio and RFC 4733 events) pass through
                                                         untouched, SSRC and sequence included;
                                                         only a codec or payload-type mismatch
                                                         between the legs' SDP is rewritten.
record     ``call``, ``path``                            starts the two-channel WAV (8 kHz 16-bit
                                                         LE; channel 1 what the agent leg
                                                         receives, channel 2 the party leg, early
                                                         media included, silence where a side sent
                                                         nothing, telephone-events left out),
                                                         flushed with its sizes patched every
                                                         second.
stop       ``call``                                      ``recording``: ``{path, bytes,
                                                         duration_s, sha256}`` or null;
                                                         ``packets``: ``{agent_in, party_in,
                                                         agent_out, party_out}``. Sockets closed,
                                                         WAV finished.
query                                                    ``calls``: every live call with
                                                         ``bridged``, ``age_s``, ``recording`` and
                                                         per leg ``port``, ``remote``, ``codec``,
                                                         ``destination``, ``latched``,
                                                         ``packets_in``, ``packets_out``,
                                                         ``send_failed``, ``malformed``,
                                                         ``idle_s``, ``playing``; ``ports_free``,
                                                         ``ports_total``; ``slots`` (the 20 ms
                                                         tick: ``done``, ``late``, ``skipped``).
========== ============================================= ==========================================

Error codes: ``bad_request`` (with ``field``), ``unknown_call``, ``unknown_leg``,
``no_free_port``, ``no_remote`` (play before the leg's codec is known), ``bridged`` (play on a
bridged call), ``bad_prompt`` (missing or not 8 kHz mono 16-bit PCM), ``already_recording``,
``record_failed`` (the WAV cannot be created), ``internal`` (a bug; the process carries on).

Events
------
Lines with ``"event"`` instead of ``"id"``, sent to every connected client:

* ``{"event": "played", "call", "leg", "completed": bool}`` once per ``play``: completed, or
  cut short by ``stop_play``, a new ``play`` or ``bridge`` (none after ``stop``);
* ``{"event": "latched", "call", "leg", "ip", "port"}`` when the first packet re-pointed a leg;
* ``{"event": "rtp_timeout", "call", "leg", "idle_s"}`` when a bridged leg has received nothing
  for ``--rtp-timeout`` seconds (default 30), once per silence;
* ``{"event": "record_failed", "call", "path", "detail"}`` when writing the WAV failed.

A client disconnecting ends no call: a restarted B2BUA reconnects, asks ``query`` and reconciles.
Nothing is reported to nobody: events while no client is connected are lost (``query`` holds the
state they described).
"""

from .engine import (
    CallState,
    Endpoint,
    EventStream,
    LegState,
    MediaClient,
    MediaEngine,
    MediaError,
    MediaEvent,
    MediaUnavailable,
    Recording,
    StopResult,
)

__all__ = [
    "CallState", "Endpoint", "EventStream", "LegState", "MediaClient", "MediaEngine", "MediaError", "MediaEvent",
    "MediaUnavailable", "Recording", "StopResult",
]
