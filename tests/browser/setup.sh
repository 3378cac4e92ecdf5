#!/usr/bin/env bash
# Set-up for the real-browser test (make test-browser): Debian's chromium and the Playwright client.
# Playwright's own browser download cannot work here, so the test drives /usr/bin/chromium.
# The client is pinned with a floor: playwright>=1.40 (checked with 1.65 and Debian's chromium 156).
# Works on a fresh machine (apt-get update first; as root without sudo, else with sudo).
# Idempotent: a second run installs nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${PY:-.venv/bin/python}"
PLAYWRIGHT_SPEC="${PLAYWRIGHT_SPEC:-playwright>=1.40}"

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "installing Debian's chromium (apt-get update, then apt-get install chromium) ..."
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    chromium fonts-dejavu-core >/dev/null
fi
/usr/bin/chromium --version

if ! "$PY" - "$PLAYWRIGHT_SPEC" <<'EOF' 2>/dev/null
import sys, importlib.metadata as m
from packaging.requirements import Requirement
req = Requirement(sys.argv[1])
sys.exit(0 if req.specifier.contains(m.version(req.name), prereleases=True) else 1)
EOF
then
  echo "installing the playwright client ($PLAYWRIGHT_SPEC, no browser download) ..."
  "$PY" -m pip install --quiet "$PLAYWRIGHT_SPEC"
fi
"$PY" -c "import playwright, importlib.metadata as m; print('playwright', m.version('playwright'))"
mkdir -p test-artifacts
