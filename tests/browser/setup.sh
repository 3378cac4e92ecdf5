#!/usr/bin/env bash
# Set-up for the real-browser test (make test-browser): Debian's chromium and the Playwright client.
# Playwright's own browser download cannot work here, so the test drives /usr/bin/chromium.
# Idempotent: a second run installs nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${PY:-.venv/bin/python}"

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "installing Debian's chromium ..."
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
/usr/bin/chromium --version

if ! "$PY" -c "import playwright" 2>/dev/null; then
  echo "installing the playwright client (no browser download) ..."
  "$PY" -m pip install --quiet playwright
fi
"$PY" -c "import playwright, importlib.metadata as m; print('playwright', m.version('playwright'))"
mkdir -p test-artifacts
