#!/usr/bin/env bash
# Installs everything the project needs from its own files: Debian packages, .venv, the SAM CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3.11}

bash scripts/apt_packages.sh requirements/apt.txt

[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/pip install -q --upgrade pip==25.3 2>/dev/null || true
reqs=(-r requirements-dev.txt)
for f in requirements/*.txt; do [ "$f" != requirements/apt.txt ] && reqs+=(-r "$f"); done
.venv/bin/pip install -q "${reqs[@]}"
# silero-vad declares torchaudio, whose PyPI build is CUDA-only (docs/aws-behaviour.md §6); we only need its model file.
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
# The AWS CLI (v1, from PyPI) pins botocore exactly, so it too gets a venv of its own; the lines the project
# prints call it as .tools/aws/bin/aws (sleepwake_cli/awscli.py).
if [ ! -x .tools/aws/bin/aws ]; then
  "$PY" -m venv .tools/aws
  .tools/aws/bin/pip install -q awscli==1.45.11
fi
echo "setup: done"
