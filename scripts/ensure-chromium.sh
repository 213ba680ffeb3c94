#!/usr/bin/env bash
# Install Debian's chromium for the report's browser test, only when it is missing.
#
# Idempotent: exits at once when /usr/bin/chromium exists. Runs `apt-get update` once
# per call before installing (the package lists may be empty on a fresh machine), then
# `apt-get install -y chromium`. Needs root (or sudo when available).
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
    echo "ensure-chromium: $CHROMIUM present ($("$CHROMIUM" --version 2>/dev/null || echo 'version unknown'))"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "ensure-chromium: $CHROMIUM is missing and this is not root; run as root:" >&2
        echo "  apt-get update && apt-get install -y chromium" >&2
        exit 2
    fi
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: no apt-get here; install Chromium so that $CHROMIUM exists" >&2
    exit 2
fi

echo "ensure-chromium: installing Debian's chromium"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# DejaVu gives the headless screenshot real glyphs when the machine has no fonts yet.
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core
"$CHROMIUM" --version
