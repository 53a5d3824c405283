#!/usr/bin/env bash
# Make sure the SIP tests have their real peers, from Debian's packages: Kamailio (the SIP edge,
# with the PostgreSQL and SQLite modules its registrar reads seat credentials with), sipp (trunk and
# party), baresip (the agents' softphones), espeak-ng (the whisper's voice) and sox (audio checks).
# The package init scripts do not start the daemons; the tests start them. Installs what is missing
# when run as root; otherwise fails with the command to run. Idempotent.
set -euo pipefail

packages=(kamailio kamailio-postgres-modules kamailio-sqlite-modules sip-tester baresip-core espeak-ng sox)

installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }

missing=()
for package in "${packages[@]}"; do
  installed "$package" || missing+=("$package")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-sip-tools: missing ${missing[*]}; install with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

echo "ensure-sip-tools: installing ${missing[*]} from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
