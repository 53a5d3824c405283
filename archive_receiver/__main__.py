"""``python -m archive_receiver --secret whsec_… --store DIR``: the receiver served by uvicorn.
Secrets may come from ``ARCHIVE_RECEIVER_SECRETS`` (comma-separated) instead, to keep them out of
shell history and process listings; both sources are accepted together."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from archive_receiver.app import create_app

SECRETS_ENV = "ARCHIVE_RECEIVER_SECRETS"
log = logging.getLogger("archive_receiver")


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Receive the dialer's signed webhooks and archive "
                                                            "the recordings they announce.")
    parser.add_argument("--secret", action="append", default=[], metavar="WHSEC",
                        help=f"a signing secret (repeat during a rotation); or set {SECRETS_ENV}")
    parser.add_argument("--store", type=Path, required=True, metavar="DIR",
                        help="where the events database and the recordings are kept")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--tolerance", type=float, default=300, metavar="SECONDS",
                        help="how far a webhook-timestamp may be from now (replay protection)")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return parser


def main(argv: Sequence[str] | None = None, *, prog: str = "python -m archive_receiver") -> int:
    """Parse ``argv`` (``sys.argv[1:]`` when ``None``), serve until stopped; the exit status."""
    args = _parser(prog).parse_args(argv)
    secrets = [*args.secret, *(s.strip() for s in os.environ.get(SECRETS_ENV, "").split(",") if s.strip())]
    if not secrets:
        print(f"{prog}: no secret: pass --secret or set {SECRETS_ENV}", file=sys.stderr)
        return 2
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for chatty in ("httpx", "httpcore"):  # they log each request's URL, and a media link is a credential
        logging.getLogger(chatty).setLevel(logging.WARNING)
    try:
        app = create_app(secrets=secrets, store_dir=args.store, tolerance_s=args.tolerance)
    except ValueError as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 2
    log.info("receiving on http://%s:%d/webhooks with %d secret(s), storing in %s",
             args.host, args.port, len(secrets), args.store.resolve())
    # Access lines are off: the receiver logs one line per event itself.
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
