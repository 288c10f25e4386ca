"""Where a command writes its files: an argparse type for an output folder, so a path that cannot take them is
refused (argparse's one line, exit 2) before the command reads or starts anything. `sleepwake simulate` and
`sleepwake plan` take their --out through it; it imports nothing of AWS, so the simulator ships on its own."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def out_folder(text: str) -> Path:
    """A folder that exists or can be made: no file on its path, and the nearest folder that exists writable."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} exists and is not a folder")
    existing = next((p for p in path.absolute().parents if p.exists()), Path("/"))
    if not existing.is_dir():
        raise argparse.ArgumentTypeError(f"{existing} is a file, so the folder {text} cannot be made")
    where = path if path.exists() else existing
    if not os.access(where, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"the folder {where} is not writable")
    return path
