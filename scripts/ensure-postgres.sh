#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on 127.0.0.1:5432 with user postgres and trust auth.
# Uses the running one when present; otherwise starts an installed cluster, or installs one
# from Debian's packages and starts it. Idempotent; needs root for the install path.
set -euo pipefail

HOST=${PGHOST:-127.0.0.1}
PORT=${PGPORT:-5432}

ready() { command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h "$HOST" -p "$PORT"; }

if ready; then
  exit 0
fi

if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  echo "ensure-postgres: installing PostgreSQL from Debian's packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql postgresql-client >/dev/null
fi

version=$(ls /etc/postgresql | sort -V | tail -n 1)
conf=/etc/postgresql/$version/main
# Loopback trust for the test user, as on the development machines.
if ! grep -q "dialer-tests" "$conf/pg_hba.conf"; then
  sed -i '1i host all all 127.0.0.1/32 trust # dialer-tests\nhost all all ::1/128 trust # dialer-tests\nlocal all all trust # dialer-tests' "$conf/pg_hba.conf"
fi
pg_ctlcluster --skip-systemctl-redirect "$version" main start || pg_ctlcluster --skip-systemctl-redirect "$version" main restart

for _ in $(seq 1 30); do
  if ready; then
    psql -h "$HOST" -p "$PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" | grep -q 1 \
      || psql -h "$HOST" -p "$PORT" -U postgres -c "CREATE DATABASE test" >/dev/null
    exit 0
  fi
  sleep 1
done
echo "ensure-postgres: PostgreSQL did not become ready on $HOST:$PORT" >&2
exit 1
