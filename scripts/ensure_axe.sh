#!/usr/bin/env bash
# axe-core for the accessibility browser tests (tests/accessibility.py), from the npm registry at
# the version pinned in tests/browser/package-lock.json. Only the tests read it: the app never
# serves it. Installed again only when the lock file changed since the last install.
set -uo pipefail
cd "$(dirname "$0")/../tests/browser"
installed=node_modules/.package-lock.json
if [ -f node_modules/axe-core/axe.min.js ] && [ -f "$installed" ] && [ "$installed" -nt package-lock.json ]; then
    exit 0
fi
if command -v npm >/dev/null; then
    echo "installing axe-core for the browser tests (npm ci in tests/browser)"
    if npm ci --no-audit --no-fund --loglevel=error; then
        exit 0
    fi
fi
if [ "${CI:-}" = "true" ]; then
    echo "could not install axe-core; CI requires the accessibility tests" >&2
    exit 1
fi
echo "axe-core unavailable: accessibility tests will be skipped locally" >&2
exit 0
