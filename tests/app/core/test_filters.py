"""The filter users write (app.core.filters): what its errors tell a supervisor."""

from __future__ import annotations

import pytest

from app.core.errors import InputError
from app.core.filters import METRICS, CallFilter


@pytest.mark.parametrize("item", ["colour=red", "refund"])
def test_a_bad_filter_names_the_keys_and_metrics_a_user_may_write(item: str) -> None:
    with pytest.raises(InputError) as caught:
        CallFilter.parse([item], metadata_fields=("agent", "team"))
    message = str(caught.value)
    # The metric names the filter box's placeholder suggests, and the declared metadata.
    assert "longest_silence>=60" in message
    assert all(name in message for name in METRICS)
    assert "agent" in message and "team" in message
    # Internal fields are accepted but not advertised.
    assert "split" not in message and "call_ids" not in message
