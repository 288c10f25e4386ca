"""A stack's reset goes through each emulated service's public snapshot hook (localaws.service_state): it reads
no service's private state, so a service can change its records without breaking the reset."""

from __future__ import annotations

import ast

from tests.conftest import ROOT


def private_reads(source: str) -> list[str]:
    """`x._name` where x is not self or cls: another object's private attribute."""
    return [
        f"{ast.unparse(node)} (line {node.lineno})"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
        and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
    ]


def test_the_reset_reads_no_services_private_state():
    assert private_reads((ROOT / "localaws" / "stack_reset.py").read_text()) == []


def test_the_check_sees_a_private_read():
    assert private_reads("emu.scheduler._last = 1\nself._own = 2\n") == ["emu.scheduler._last (line 1)"]
