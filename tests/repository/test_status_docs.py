"""The GET /status document as the docs list it (docs/design.md's API section, README's fallback line) is the one
the code answers (sleepwake.control.status.Status): a field added, renamed or dropped shows here first."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sleepwake.control.status import FallbackStatus, Status
from sleepwake.core import State
from sleepwake.core.keep_warm import KeepWarmMode
from tests.conftest import ROOT

KEYS = re.compile(r'"(\w+)"')


def listed(text: str, opening: str) -> set[str]:
    """The quoted names of the first `{...}` after `opening` in `text`."""
    start = text.index(opening) + len(opening)
    start = text.index("{", start)
    return set(KEYS.findall(text[start : text.index("}", start)]))


def answered() -> tuple[set[str], set[str]]:
    """The keys GET /status answers, and those of its fallback document (the default 60-minute window)."""
    fallback = FallbackStatus(
        endpoint="e", window_minutes=60, invocations=0.0, keep_warm=KeepWarmMode.PING, warm=False, since=None
    )
    status = Status(
        state=State.ASLEEP,
        desired_copies=0,
        current_copies=0,
        since=datetime(2026, 12, 7, tzinfo=UTC),
        eta_seconds=0,
        last_error=None,
        lease_until=None,
        execution=None,
        fallback=fallback,
    )
    document = status.model_dump(mode="json")
    return set(document), set(document["fallback"])


def test_the_design_docs_list_every_field_of_get_status_and_of_its_fallback():
    design = (ROOT / "docs" / "design.md").read_text()
    top, fallback = answered()
    assert listed(design, "- `GET /status` →") == top
    assert listed(design, "`fallback`: `") == fallback


def test_the_readme_lists_every_field_of_the_fallbacks_status():
    _, fallback = answered()
    assert listed((ROOT / "README.md").read_text(), '`GET /status` adds\n`"fallback": ') == fallback
