#!/usr/bin/env bash
# The browser the console tests drive: Debian's chromium (Playwright's own browser
# downloads are not used). Installed when missing; run by `make test`.
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1; then
  echo "setup: installing Debian's chromium for the console's browser tests"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
fi
