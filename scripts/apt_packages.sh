#!/usr/bin/env bash
# Installs the Debian packages listed in a file (one per line) that are not installed yet.
# Works as root (apt-get directly) and as a sudoer (through sudo); DEBIAN_FRONTEND reaches apt-get either way.
set -euo pipefail
list=${1:-requirements/apt.txt}
[ -s "$list" ] || exit 0

missing=()
while read -r pkg; do
  pkg=${pkg%%#*}
  pkg=${pkg//[[:space:]]/}
  [ -n "$pkg" ] || continue
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done <"$list"
[ ${#missing[@]} -gt 0 ] || exit 0

echo "setup: installing Debian packages: ${missing[*]}"
# `env` makes the variable part of the command: `sudo VAR=1 cmd` works, but `$EMPTY VAR=1 cmd` runs "VAR=1".
as_root=(env DEBIAN_FRONTEND=noninteractive)
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: not root and no sudo: install ${missing[*]} by hand" >&2; exit 1; }
  as_root=(sudo env DEBIAN_FRONTEND=noninteractive)
fi
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
