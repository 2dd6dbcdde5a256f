#!/usr/bin/env bash
# Install everything into this checkout: a Python venv (.venv), the npm packages (node_modules)
# and, with --test, the test tools and Debian's chromium for the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."

with_tests=0
[ "${1:-}" = "--test" ] && with_tests=1

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv with $($python --version)"
  "$python" -m venv .venv
fi
if ! pkg-config --exists libmariadb 2>/dev/null; then
  # mysqlclient (the Matomo history import's MariaDB/MySQL driver) builds against MariaDB Connector/C
  echo "==> installing Debian's MariaDB client library headers (for mysqlclient)"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq libmariadb-dev pkg-config gcc python3-dev >/dev/null
fi
echo "==> installing Python packages"
.venv/bin/python -m pip install --quiet --upgrade pip
if [ "$with_tests" = 1 ]; then
  .venv/bin/python -m pip install --quiet -e ".[test]"
else
  .venv/bin/python -m pip install --quiet -e ".[matomo-import]"
fi

echo "==> installing npm packages (clarity-js and its decoder/visualizer)"
npm ci --no-audit --no-fund --loglevel=error
node scripts/build_beacon.mjs

if [ "$with_tests" = 1 ] && ! command -v chromium >/dev/null 2>&1; then
  echo "==> installing Debian's chromium for the browser tests"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null
fi

if [ "$with_tests" = 1 ] && [ ! -x /usr/sbin/mariadbd ]; then
  echo "==> installing Debian's mariadb-server for the Matomo import tests (started by the tests themselves)"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq mariadb-server >/dev/null
fi
