#!/usr/bin/env bash
# Install everything into this checkout: a Python venv (.venv), the npm packages (node_modules), the
# beacon build and, with --test, the test tools and Debian's chromium for the browser tests.
#
# A second run skips the pip, npm and beacon steps when nothing they depend on changed: a stamp in .venv
# holds a hash of pyproject.toml, package.json, package-lock.json, the beacon build script and sources,
# this script and the Python version (one stamp per mode; a --test install also serves ./run).
# INSTALL_FORCE=1 installs anyway.
set -euo pipefail
cd "$(dirname "$0")/.."

with_tests=0
[ "${1:-}" = "--test" ] && with_tests=1
mode=run
[ "$with_tests" = 1 ] && mode=test

python=${PYTHON:-python3}
apt_install() {
  # Debian packages this checkout needs (as root, or through sudo)
  local sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "$@" >/dev/null
}

if ! pkg-config --exists libmariadb 2>/dev/null; then
  # mysqlclient (the Matomo history import's MariaDB/MySQL driver) builds against MariaDB Connector/C
  echo "==> installing Debian's MariaDB client library headers (for mysqlclient)"
  apt_install libmariadb-dev pkg-config gcc python3-dev
fi

inputs_hash() {
  {
    cat pyproject.toml package.json package-lock.json scripts/install.sh scripts/build_beacon.mjs
    cat collector/static/*.js
    "$python" --version 2>&1
  } | sha256sum | cut -d' ' -f1
}

installed() {
  # $1: the mode whose stamp to check; the artefacts must still be there too
  [ -x .venv/bin/python ] && [ -e node_modules/.package-lock.json ] \
    && [ -e collector/static/dist/beacon.min.js ] && [ -e collector/static/dist/banner.min.js ] \
    && [ "$(cat ".venv/.installed-$1" 2>/dev/null)" = "$hash" ]
}

hash=$(inputs_hash)
if [ "${INSTALL_FORCE:-0}" != 1 ] && { installed "$mode" || { [ "$mode" = run ] && installed test; }; }; then
  echo "==> nothing changed since the last install: skipping pip, npm and the beacon build (INSTALL_FORCE=1 reinstalls)"
else
  if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv with $($python --version)"
    "$python" -m venv .venv
  fi
  rm -f ".venv/.installed-$mode"
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
  echo "$hash" > ".venv/.installed-$mode"
fi

if [ "$with_tests" = 1 ] && ! command -v chromium >/dev/null 2>&1; then
  echo "==> installing Debian's chromium for the browser tests"
  apt_install chromium
fi

if [ "$with_tests" = 1 ] && [ ! -x /usr/sbin/mariadbd ]; then
  echo "==> installing Debian's mariadb-server for the Matomo import tests (started by the tests themselves)"
  apt_install mariadb-server
fi
