"""A module's shared stack (tests/stacks.py `as_deployed`): a reset that fails once fails the later tests at
once with its reason, instead of each waiting out another reset of an emulator that does not come to rest."""

from __future__ import annotations

import pytest

from tests.stacks import as_deployed


class _Stack:
    def __init__(self, fails: bool) -> None:
        self.fails, self.resets = fails, 0

    def reset(self) -> None:
        self.resets += 1
        if self.fails:
            raise RuntimeError("the emulator did not come to rest to be reset; threads: ['stuck']")


def test_each_test_after_the_first_gets_the_stack_reset():
    stack = _Stack(fails=False)
    for _ in range(3):
        with as_deployed(stack) as got:  # type: ignore[arg-type]
            assert got is stack
    assert stack.resets == 2


def test_a_reset_that_failed_fails_the_later_tests_at_once_with_its_reason():
    stack = _Stack(fails=True)
    with as_deployed(stack):  # type: ignore[arg-type]
        pass
    with pytest.raises(RuntimeError, match="did not come to rest"), as_deployed(stack):  # type: ignore[arg-type]
        pass
    earlier = "could not be put back as deployed after an earlier test: RuntimeError"
    with pytest.raises(RuntimeError, match=earlier), as_deployed(stack):  # type: ignore[arg-type]
        pass
    assert stack.resets == 1  # not tried again
