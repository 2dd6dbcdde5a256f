#!/bin/bash
# Entry point of the ClickHouse containers: read the collector's password from its Docker secret into
# CLICKHOUSE_COLLECTOR_PASSWORD, which users.xml (and the cluster's remote_servers) read with from_env,
# then start the official image's own entry point.
#
# Why not the image's CLICKHOUSE_PASSWORD: its entry point pastes the value into an XML file, so a
# password with & or < breaks the server's configuration; from_env takes any characters. Why not an
# environment variable in the compose file: compose interpolates $ in it. The secret file is read as is
# (one trailing newline dropped); an empty or missing one stops the container with the reason, since an
# empty password would leave the collector user open.
set -euo pipefail
secret=${CLICKHOUSE_PASSWORD_FILE:-/run/secrets/clickhouse_password}
if [ ! -s "$secret" ]; then
  echo "with-password-file: $secret is missing or empty: create secrets/clickhouse_password (docs/operations.md)" >&2
  exit 1
fi
password=$(cat "$secret"; printf x)
password=${password%x}
password=${password%$'\n'}
export CLICKHOUSE_COLLECTOR_PASSWORD="$password"
exec "${CLICKHOUSE_ENTRYPOINT:-/entrypoint.sh}" "$@"
