#!/usr/bin/env bash
# ensure-debian-packages.sh NAME PACKAGE…: make sure Debian's PACKAGEs are installed. Installs what
# is missing when run as root; otherwise fails with the command to run. Idempotent; with everything
# present it only asks dpkg. NAME prefixes its messages (the script that asked).
set -euo pipefail

name=$1
shift

installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }

missing=()
for package in "$@"; do
  installed "$package" || missing+=("$package")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "$name: missing ${missing[*]}; install with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

echo "$name: installing ${missing[*]} from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
