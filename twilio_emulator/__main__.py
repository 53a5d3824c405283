"""``python -m twilio_emulator --port 8099 --scenario scenario.json``"""

from __future__ import annotations

import argparse

from .app import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN
from .server import serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="twilio_emulator", description="Local Twilio Voice REST emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--scenario", help="scenario file (.json, or .yaml with PyYAML)")
    parser.add_argument("--account-sid", default=DEFAULT_ACCOUNT_SID)
    parser.add_argument("--auth-token", default=DEFAULT_AUTH_TOKEN)
    parser.add_argument("--public-url", help="base URL put in RecordingUrl/media_url (default http://HOST:PORT)")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    serve(args.host, args.port, args.scenario, account_sid=args.account_sid, auth_token=args.auth_token,
          public_url=args.public_url, log_level=args.log_level)


if __name__ == "__main__":
    main()
