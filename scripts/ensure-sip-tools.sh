#!/usr/bin/env bash
# Make sure the SIP tests have their real peers, from Debian's packages: Kamailio (the SIP edge,
# with the PostgreSQL and SQLite modules its registrar reads seat credentials with), sipp (trunk and
# party), baresip (the agents' softphones), espeak-ng (the whisper's voice) and sox (audio checks).
# The package init scripts do not start the daemons; the tests start them. Installs what is missing
# when run as root; otherwise fails with the command to run (scripts/ensure-debian-packages.sh).
set -euo pipefail
exec "$(dirname "$0")/ensure-debian-packages.sh" ensure-sip-tools \
  kamailio kamailio-postgres-modules kamailio-sqlite-modules sip-tester baresip-core espeak-ng sox
