"""``discover`` on planted calls: topics numbered by size, each with its distinctive terms and
its calls ordered by closeness to the centroid; options checked."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.errors import InputError
from retrieval.topics import PoolCall, TopicOptions, discover

_TEXTS = {
    "thermostat": "Customer: my thermostat lost the wifi after the firmware update",
    "invoice": "Customer: the invoice shows a duplicate charge on my invoice",
}


def _pool() -> list[PoolCall]:
    rng = np.random.default_rng(1)
    centres = {name: rng.standard_normal(24) for name in _TEXTS}
    calls = []
    for name, n in (("thermostat", 8), ("invoice", 6)):
        for i in range(n):
            # The first call of each group sits further from its centre than the rest.
            spread = 0.6 if i == 0 else 0.1
            vec = centres[name] + spread * rng.standard_normal(24)
            calls.append(PoolCall(f"{name}-{i}", vec, None, _TEXTS[name], "en"))
    calls += [
        PoolCall(f"odd-{i}", rng.standard_normal(24), None, f"Customer: odd thing {i}", "en")
        for i in range(3)
    ]
    return calls


def test_topics_come_largest_first_with_terms_and_closest_calls_first() -> None:
    found = discover(_pool(), TopicOptions(min_size=4))
    assert [t.id for t in found.topics] == [1, 2]
    first, second = found.topics
    assert set(first.call_ids) == {f"thermostat-{i}" for i in range(8)}
    assert set(second.call_ids) == {f"invoice-{i}" for i in range(6)}
    assert sorted(found.unclustered) == ["odd-0", "odd-1", "odd-2"]
    assert {"thermostat", "firmware", "wifi"} <= {w for w, _ in first.terms}
    assert second.terms[0][0] == "invoice"
    # Closest to the centroid first; the planted loose member comes last.
    sims = [m.similarity for m in first.members]
    assert sims == sorted(sims, reverse=True) and first.members[-1].call_id == "thermostat-0"
    assert first.representatives(3) == first.members[:3]
    assert 0.5 < first.cohesion <= 1.0
    assert set(found.seconds) == {"features", "cluster", "terms"}


def test_options_and_pools_are_checked() -> None:
    with pytest.raises(InputError, match="unknown clustering method"):
        TopicOptions(method="kmeans")
    with pytest.raises(InputError, match="min_size"):
        TopicOptions(min_size=1)
    with pytest.raises(InputError, match="bm25_weight"):
        TopicOptions(bm25_weight=-0.1)
    with pytest.raises(InputError, match="terms"):
        TopicOptions(terms=0)
    assert [TopicOptions().size_for(n) for n in (100, 1500, 4000)] == [5, 15, 20]
    pool = _pool()
    with pytest.raises(InputError, match="twice"):
        discover([*pool, pool[0]])
    empty = discover([])
    assert empty.topics == [] and empty.unclustered == []
