"""The timeout a request is given follows the endpoint's measured pace: never under the
setting, longer for a longer prompt and more tokens to write, twice as long on each retry after
a timeout, never over ten times the setting."""

from __future__ import annotations

import pytest

from retrieval.llm.pace import CEILING, MARGIN, WRITTEN, Pace


def test_without_a_measure_the_setting_holds_and_retries_double_it() -> None:
    pace = Pace(60.0)
    assert pace.timeout(5000, 400) == 60.0
    assert [pace.timeout(5000, 400, n) for n in (2, 3, 4, 5)] == [120.0, 240.0, 480.0, 600.0]


def test_a_slow_model_gets_the_time_its_pace_predicts() -> None:
    pace = Pace(60.0)
    # The 1.5B on two cores: 1,000 prompt tokens and 100 written in 41 s.
    pace.observe(41.0, 1000, 100)
    rate = 41.0 / (1000 + WRITTEN * 100)
    assert pace.seconds_per_token == pytest.approx(rate)
    assert pace.timeout(2000, 400) == pytest.approx(MARGIN * rate * (2000 + WRITTEN * 400))
    assert pace.timeout(100, 10) == 60.0  # a short request: the setting
    assert pace.timeout(100_000, 400) == CEILING * 60.0
    # The running mean moves toward newer answers without forgetting the old ones.
    pace.observe(4.1, 1000, 100)
    assert rate / 10 < pace.seconds_per_token < rate
    pace.observe(0.0, 1000, 100)  # nothing to learn from
    pace.observe(3.0, 0, 0)
    assert rate / 10 < pace.seconds_per_token < rate
