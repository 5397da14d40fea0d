#!/usr/bin/env bash
# deps.sh: install the Debian packages lifeguard needs to build, test and benchmark.
# Idempotent and fast when everything is present (one dpkg query, no network).
# Needs root only when something is missing. Never starts the PostgreSQL or
# PgBouncer (or redis) services that the packages ship (a policy-rc.d blocks
# them), so nothing grabs ports 5432/6432/6379.
set -euo pipefail

packages=(
    gcc clang make libssl-dev libcmocka-dev valgrind clang-format
    postgresql-15 postgresql-client-15 pgbouncer
    python3-pytest python3-pytest-timeout python3-pytest-xdist
    python3-psycopg python3-psycopg2 python3-asyncpg
    libclang-rt-14-dev util-linux procps strace
    # examples/flask-celery (its shortened run is tests/integration/test_flask_celery.py)
    python3-flask python3-sqlalchemy python3-celery python3-redis redis-server gunicorn
)
# node and npm run the node-postgres tests (tests/integration/node). A node
# that is already there (NodeSource, nvm, ...) is kept: it brings its own npm,
# and Debian's npm package would conflict with it. Only without one do we
# install Debian's nodejs and npm.
if ! command -v node >/dev/null 2>&1; then
    packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    if [ "$status" != "installed" ]; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

echo "deps.sh: missing packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    echo "deps.sh: not root; install them with:" >&2
    echo "  sudo apt-get update &&" \
        "sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
fi

# Keep maintainer scripts from starting postgresql/pgbouncer/redis services:
# invoke-rc.d and deb-systemd-invoke, which their postinsts use, both ask
# policy-rc.d first and skip the start on 101.
policy=/usr/sbin/policy-rc.d
policy_backup=""
if [ -e "$policy" ]; then
    policy_backup=$(mktemp /usr/sbin/policy-rc.d.lifeguard.XXXXXX)
    cp -p "$policy" "$policy_backup"
fi
restore_policy() {
    if [ -n "$policy_backup" ]; then
        mv -f "$policy_backup" "$policy"
    else
        rm -f "$policy"
    fi
}
trap restore_policy EXIT
printf '#!/bin/sh\n# lifeguard deps.sh: no service starts during install\nexit 101\n' >"$policy"
chmod 0755 "$policy"

export DEBIAN_FRONTEND=noninteractive
timeout 600 apt-get update -q
timeout 1800 apt-get install -y -q --no-install-recommends "${missing[@]}"

# Debian's postgresql-common creates a "main" cluster on install, and pgbouncer
# and redis-server ship enabled units; none was started (policy-rc.d), and none
# is ours to remove (they would start at the next boot; the tests use their
# own servers on free ports, so they would not collide). Just say so.
echo "deps.sh: installed ${missing[*]}"
