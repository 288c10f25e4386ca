"""The first-request ratio make demo prints and make bench-wake / bench-model judge (localaws/demo.first_to_steady)."""

from __future__ import annotations

import pytest

from localaws.demo import first_to_steady


def test_the_first_request_is_compared_with_the_median_of_the_ones_after_it() -> None:
    assert first_to_steady([20.0, 18.0, 17.0, 19.0]) == pytest.approx(20.0 / 18.0)


def test_a_missing_or_unmeasured_request_never_reads_as_warm() -> None:
    assert first_to_steady([18.0]) == float("inf")
    assert first_to_steady([18.0, 0.0, 17.0]) == float("inf")
