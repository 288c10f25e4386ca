"""No source file over 600 lines (the team's guide): a file that grows past it is split where its parts are
separate concerns, so each stays readable on its own."""

from __future__ import annotations

from tests.conftest import ROOT
from tests.repository.test_project_stands_alone import tracked_files

MAX_LINES = 600


def test_no_source_file_is_over_600_lines():
    sizes = {
        path.relative_to(ROOT).as_posix(): len(path.read_text().splitlines())
        for path in tracked_files()
        if path.suffix == ".py" and path.exists()
    }
    assert len(sizes) > 100  # the files were found
    assert {name: lines for name, lines in sizes.items() if lines > MAX_LINES} == {}
