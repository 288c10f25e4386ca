"""docs/design.md opens with the newcomer's map: the tree, one line per module (or family of modules) saying what
it owns. The map names every module of the project's packages and every handler, and names no module that does
not exist, so it stays the code as it is."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

from tests.conftest import ROOT

DESIGN = ROOT / "docs" / "design.md"
# The packages whose every module the map names (a package's __init__.py is named by its folder).
PACKAGES = [
    "layers/sleepwake/sleepwake",
    "sleepwake_cli",
    "localaws",
    "client/sleepwake_client",
    "sagemaker_model",
]
MODULE = re.compile(r"[\w*/.]+\.py")  # sagemaker.py, cfn_*.py, control/__init__.py (not functions/<name>/app.py)
SEPARATORS = re.compile(r"[\s,;:()`]+")


def the_map() -> str:
    """The first fenced block of docs/design.md, the tree."""
    text = DESIGN.read_text()
    start = text.index("```\n") + 4
    return text[start : text.index("```", start)]


def named() -> list[tuple[str, str]]:
    """(folder, name) for every module name in the map: a folder line (`core/`) opens a folder for the lines
    indented under it; a name on a line is in that line's folder."""
    folders: list[tuple[int, str]] = []  # (indent, path) of the open folders, outermost first
    found = []
    for line in the_map().splitlines():
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        first = line.split()[0]
        while folders and folders[-1][0] >= indent:
            folders.pop()
        here = folders[-1][1] if folders else ""
        if first.endswith("/") and "<" not in first:  # a folder: what its line names is in it
            here = f"{here}{first}"
            folders.append((indent, here))
        found += [(here, word) for word in SEPARATORS.split(line) if MODULE.fullmatch(word)]
    return found


def modules() -> list[Path]:
    return sorted(
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "__pycache__" not in path.parts and path.name != "__init__.py"
    )


def _matches(path: Path, folder: str, name: str) -> bool:
    """The file is the one the map's entry names: in the entry's folder, or, for a name written with a folder of
    its own (`control/ports.py` under the layer's line), at the end of any path. A bare name (`ports.py`) is only
    ever the one in its folder, so deleting localaws/ports.py is not hidden by control/ports.py."""
    relative = path.relative_to(ROOT).as_posix()
    return fnmatch.fnmatch(relative, f"{folder}{name}") or ("/" in name and fnmatch.fnmatch(relative, f"*/{name}"))


def _project_files() -> list[Path]:
    return [path for path in ROOT.rglob("*.py") if not {".venv", ".tools", ".git"} & set(path.parts)]


def test_the_map_names_every_module_of_the_packages():
    names = named()
    missing = [
        path.relative_to(ROOT).as_posix()
        for path in modules()
        if not any(fnmatch.fnmatch(path.relative_to(ROOT).as_posix(), f"{folder}{name}") for folder, name in names)
    ]
    assert missing == [], "modules the map in docs/design.md does not name (add a line or a name): " + ", ".join(
        missing
    )


def test_every_module_the_map_names_exists():
    files = _project_files()
    gone = [f"{folder}{name}" for folder, name in named() if not any(_matches(p, folder, name) for p in files)]
    assert gone == [], "docs/design.md's map names modules that do not exist: " + ", ".join(gone)


def test_deleting_a_module_the_map_names_is_caught():
    """Each plain name in the map stands for exactly one file, not also a same-named module of another package
    (localaws/ports.py and control/ports.py): so with that file deleted, the check above reports the entry."""
    files = _project_files()
    for folder, name in named():
        if "*" not in name:
            meant = [path.relative_to(ROOT).as_posix() for path in files if _matches(path, folder, name)]
            assert len(meant) == 1, f"the map's {folder}{name} stands for {meant}"


def test_the_map_names_every_handler():
    handlers = sorted(path.parent.name for path in (ROOT / "functions").glob("*/app.py"))
    text = the_map()
    assert [name for name in handlers if not re.search(rf"\b{name}\b", text)] == []


def test_the_map_reader_sees_names_in_their_folders():
    """Guards the reader above: names under an indented folder line are in that folder."""
    names = named()
    assert ("layers/sleepwake/sleepwake/core/", "defaults.py") in names
    assert ("localaws/", "cfn_*.py") in names
    assert not any(fnmatch.fnmatch("localaws/nothing_here.py", f"{folder}{name}") for folder, name in names)
