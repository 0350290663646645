#!/usr/bin/env bash
# Set up everything siyu needs on a fresh Debian machine with Python 3.11:
# uv (pinned), Java 17 for Spark when missing, and the locked Python environment.
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=0.13.8
export UV_PYTHON_DOWNLOADS=never

if ! command -v uv >/dev/null 2>&1 || [ "$(uv --version | awk '{print $2}')" != "$UV_VERSION" ]; then
  echo "setup: installing uv $UV_VERSION"
  python3 -m pip install --quiet --user "uv==$UV_VERSION" 2>/dev/null \
    || python3 -m pip install --quiet "uv==$UV_VERSION"
fi
export PATH="$HOME/.local/bin:$PATH"

if ! command -v java >/dev/null 2>&1; then
  echo "setup: installing Java 17 for Spark"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openjdk-17-jre-headless >/dev/null
fi

uv sync --locked --quiet
