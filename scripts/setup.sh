#!/usr/bin/env bash
# Installs everything the project needs from its own files: Debian packages, .venv, the SAM CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3.11}

if [ -s requirements/apt.txt ]; then
  missing=$(while read -r pkg; do [ -n "$pkg" ] && ! dpkg -s "$pkg" >/dev/null 2>&1 && echo "$pkg"; done < requirements/apt.txt || true)
  if [ -n "$missing" ]; then
    echo "setup: installing Debian packages: $missing"
    # `env` makes the assignment part of the command, so this works as root (no sudo) and through sudo alike.
    as_root=(env); [ "$(id -u)" -ne 0 ] && as_root=(sudo env)
    "${as_root[@]}" DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # shellcheck disable=SC2086  # one word per package name
    "${as_root[@]}" DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  fi
fi

[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/pip install -q --upgrade pip==25.3 2>/dev/null || true
.venv/bin/pip install -q -r requirements-dev.txt $(for f in requirements/*.txt; do [ "$f" != requirements/apt.txt ] && echo "-r $f"; done)
# silero-vad declares torchaudio, whose PyPI build is CUDA-only (FACTS §6); we only need its model file.
.venv/bin/pip install -q --no-deps silero-vad==6.2.3
.venv/bin/pip install -q --no-deps -e .

# The SAM CLI pins its own dependency tree; it lives in a venv of its own so it never fights ours.
if [ ! -x .tools/sam/bin/sam ]; then
  "$PY" -m venv .tools/sam
  .tools/sam/bin/pip install -q aws-sam-cli==1.170.0
fi
# checkov pins boto3 (1.35.x) below ours, so it too gets a venv of its own; it runs offline (--skip-download).
if [ ! -x .tools/checkov/bin/checkov ]; then
  "$PY" -m venv .tools/checkov
  .tools/checkov/bin/pip install -q checkov==3.3.30
fi
echo "setup: done"
