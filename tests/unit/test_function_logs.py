"""Where the functions' JSON logs go: to whatever stdout is when a line is written, as in a Lambda (where nothing
swaps it), so a process that sends them to a file after importing the layer (`make demo`, `make replay`) gets them
there, not on its console."""

from __future__ import annotations

import contextlib
import io
import json

from sleepwake.observability import logger


def test_a_log_line_goes_to_the_stdout_of_the_moment_not_the_one_at_import():
    first, second = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(first):
        logger.info("to the replay's log file")
    with contextlib.redirect_stdout(second):
        logger.info("to another")
    assert json.loads(first.getvalue())["message"] == "to the replay's log file"
    assert json.loads(second.getvalue())["message"] == "to another"
