#!/usr/bin/env bash
# Headless Chromium and ChromeDriver from Debian, for the browser tests.
set -uo pipefail
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
    exit 0
fi
echo "installing Debian's chromium and chromium-driver"
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
if $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; then
    exit 0
fi
if [ "${CI:-}" = "true" ]; then
    echo "could not install chromium; CI requires the browser tests" >&2
    exit 1
fi
echo "chromium unavailable: browser tests will be skipped locally" >&2
exit 0
