#!/usr/bin/env bash
# Make sure the browser tests have what they need: Debian's chromium (driven by Playwright as the
# system browser, `playwright install` is never run) and fonts-noto-cjk (so the desktop's Chinese
# renders as text, not boxes). Installs what is missing from Debian's packages when run as root;
# otherwise fails with the command to run. Idempotent; with everything present it only asks dpkg.
set -euo pipefail

packages=(chromium fonts-noto-cjk)

installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }

missing=()
for package in "${packages[@]}"; do
  installed "$package" || missing+=("$package")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-browser: missing ${missing[*]}; install with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

echo "ensure-browser: installing ${missing[*]} from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
