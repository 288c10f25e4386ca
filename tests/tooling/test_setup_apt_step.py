"""The set-up's Debian package step, run with stand-ins for apt-get, dpkg, id and sudo on PATH.

A fresh machine is often a root shell without sudo (containers, CI) or a user with sudo: both must install the
packages non-interactively, and a machine that has them must not call apt at all.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "apt_packages.sh"

STANDINS = {
    # Installed packages are listed in $INSTALLED; everything else is "not installed", as dpkg -s says.
    "dpkg": 'for p in $INSTALLED; do [ "$p" = "$2" ] && exit 0; done; exit 1',
    "apt-get": 'echo "apt-get uid=$FAKE_UID DEBIAN_FRONTEND=${DEBIAN_FRONTEND:-} $*" >> "$CALLS"',
    "id": 'echo "$FAKE_UID"',
    "sudo": 'echo "sudo $*" >> "$CALLS"; FAKE_UID=0 exec "$@"',
}


def run_apt_step(tmp_path: Path, *, uid: int, installed: str = "", sudo: bool = True) -> tuple[int, str, list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in STANDINS.items():
        if name == "sudo" and not sudo:
            continue
        tool = bin_dir / name
        tool.write_text(f"#!/bin/bash\n{body}\n")
        tool.chmod(0o755)
    packages = tmp_path / "apt.txt"
    packages.write_text("espeak-ng\nsox  # speech and audio for the model tests\n\n")
    calls = tmp_path / "calls"
    env = {
        # Only the stand-ins and the shell's own tools: no real apt-get or sudo can be reached.
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "FAKE_UID": str(uid),
        "INSTALLED": installed,
        "CALLS": str(calls),
        "HOME": os.environ.get("HOME", "/tmp"),
    }
    if not sudo:
        env["PATH"] = f"{bin_dir}:{_dir_without_sudo(tmp_path)}"
    done = subprocess.run(["bash", str(SCRIPT), str(packages)], env=env, capture_output=True, text=True, timeout=60)
    lines = calls.read_text().splitlines() if calls.exists() else []
    return done.returncode, done.stdout + done.stderr, lines


def _dir_without_sudo(tmp_path: Path) -> str:
    """A directory with the few real tools the script needs, and no sudo."""
    tools = tmp_path / "tools"
    tools.mkdir()
    for name in ("env", "bash"):
        real = Path("/usr/bin", name) if Path("/usr/bin", name).exists() else Path("/bin", name)
        (tools / name).symlink_to(real)
    return str(tools)


def test_as_root_without_sudo_installs_the_missing_packages_non_interactively(tmp_path: Path) -> None:
    status, output, calls = run_apt_step(tmp_path, uid=0, sudo=False)

    assert status == 0, output
    assert calls == [
        "apt-get uid=0 DEBIAN_FRONTEND=noninteractive update -qq",
        "apt-get uid=0 DEBIAN_FRONTEND=noninteractive install -y -qq --no-install-recommends espeak-ng sox",
    ]
    assert "installing Debian packages: espeak-ng sox" in output


def test_as_a_sudoer_installs_through_sudo_non_interactively(tmp_path: Path) -> None:
    status, output, calls = run_apt_step(tmp_path, uid=1000)

    assert status == 0, output
    assert [c for c in calls if c.startswith("sudo")] == [
        "sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq",
        "sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends espeak-ng sox",
    ]
    assert "apt-get uid=0 DEBIAN_FRONTEND=noninteractive install -y -qq --no-install-recommends espeak-ng sox" in calls


def test_installs_only_what_is_missing(tmp_path: Path) -> None:
    status, output, calls = run_apt_step(tmp_path, uid=0, installed="espeak-ng")

    assert status == 0, output
    assert calls[-1].endswith("install -y -qq --no-install-recommends sox")


def test_a_machine_that_has_the_packages_never_calls_apt(tmp_path: Path) -> None:
    status, output, calls = run_apt_step(tmp_path, uid=1000, installed="espeak-ng sox")

    assert status == 0, output
    assert calls == []
    assert output == ""


def test_a_user_without_sudo_is_told_what_to_install(tmp_path: Path) -> None:
    status, output, calls = run_apt_step(tmp_path, uid=1000, sudo=False)

    assert status == 1
    assert calls == []
    assert "install espeak-ng sox by hand" in output
    assert "Traceback" not in output
