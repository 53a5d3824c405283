#!/usr/bin/env bash
# Make sure the browser tests have what they need: Debian's chromium (driven by Playwright as the
# system browser, `playwright install` is never run) and fonts-noto-cjk (so the desktop's Chinese
# renders as text, not boxes). Installs what is missing when run as root; otherwise fails with the
# command to run (scripts/ensure-debian-packages.sh).
set -euo pipefail
exec "$(dirname "$0")/ensure-debian-packages.sh" ensure-browser chromium fonts-noto-cjk
