#!/bin/sh
# Container start: fresh multiprocess metric files, database migrations, then the given command.
set -eu

if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
    # Files left by a previous run would be merged into this run's counters and gauges.
    rm -rf "${PROMETHEUS_MULTIPROC_DIR:?}"
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
fi

# One replica upgrading at a time is enough; set GATEWAY_SKIP_DB_UPGRADE=1 where a job does it.
if [ "${GATEWAY_SKIP_DB_UPGRADE:-0}" != "1" ]; then
    gateway db upgrade
fi

exec "$@"
