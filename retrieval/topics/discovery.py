"""Topic discovery over a pool of calls: features, clusters, each cluster's distinctive terms and
the calls closest to its centroid. Pure: the calls come in, the topics go out; reading the pool
from the store and keeping the run is the service's part (``app.services.topics``). Filler and
the pool's boilerplate (greetings, closings) are no part of a call's terms (``content``)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from app.core.errors import InputError
from app.core.filler import Boilerplate
from retrieval.topics.clustering import METHODS, NOISE, cluster
from retrieval.topics.content import content_text, learn_boilerplate
from retrieval.topics.features import CallFeatures, PoolCall
from retrieval.topics.terms import distinctive_terms


@dataclass(frozen=True)
class TopicOptions:
    """How discovery runs. The defaults won on the demo corpus and Banking77
    (``eval/bench_topics.py``, docs/benchmarks.md)."""

    #: ``agglomerative`` (average linkage, cut where the silhouette of the grouped calls times
    #: the share grouped is best; groups under ``min_size`` left out) or ``hdbscan`` (density:
    #: purer groups, but it leaves many more calls out).
    method: str = "agglomerative"
    #: The fewest calls a topic may have; None: 1% of the pool, at least 5 and at most 20 (at
    #: 5, HDBSCAN split 10 hidden Banking77 intents into 55 topics; at 40, 4000 calls of 77
    #: intents were forced into too few topics); a pool under 25 calls takes a fifth of its
    #: size, at least 3 (at 5, twelve new calls on three reasons could form no topic at all).
    min_size: int | None = None
    #: Weight of the BM25 cosine against the call vectors' cosine. 0 (vectors only): no weight
    #: won on both data sets; at 0.1-0.3 ARI moved between -0.05 (the demo's long calls) and
    #: +0.06 (Banking77's one-line requests with distractors), at 0.5 and above it fell on both.
    bm25_weight: float = 0.0
    #: Terms kept per topic, and representative calls (closest to the centroid).
    terms: int = 8
    representatives: int = 5

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InputError(
                f"unknown clustering method {self.method!r}; use one of {', '.join(METHODS)}"
            )
        if self.min_size is not None and (
            not isinstance(self.min_size, int)
            or isinstance(self.min_size, bool)
            or self.min_size < 2
        ):
            raise InputError(f"min_size must be an integer of at least 2, got {self.min_size!r}")
        if not 0.0 <= self.bm25_weight <= 1.0:
            raise InputError(f"bm25_weight must be between 0 and 1, got {self.bm25_weight!r}")
        for name in ("terms", "representatives"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 50:
                raise InputError(f"{name} must be an integer from 1 to 50, got {value!r}")

    def size_for(self, pool: int) -> int:
        """The smallest topic for a pool of ``pool`` calls."""
        if self.min_size is not None:
            return self.min_size
        return max(min(5, max(3, pool // 5)), min(20, round(pool * 0.01)))


@dataclass(frozen=True)
class Member:
    call_id: str
    #: Cosine similarity to the topic's centroid.
    similarity: float


@dataclass
class Topic:
    """One discovered group: its calls (closest to the centroid first) and what sets it apart."""

    id: int
    members: list[Member]
    terms: list[tuple[str, float]]
    #: Mean similarity of the members to the centroid: how tight the group is.
    cohesion: float

    @property
    def call_ids(self) -> list[str]:
        return [m.call_id for m in self.members]

    def representatives(self, k: int) -> list[Member]:
        return self.members[:k]


@dataclass
class Discovery:
    topics: list[Topic]
    #: Calls in no topic (HDBSCAN's noise, or groups too small).
    unclustered: list[str]
    min_size: int
    seconds: dict[str, float] = field(default_factory=dict)
    #: Each call's text without filler and boilerplate (what its terms were read from).
    texts: dict[str, str] = field(default_factory=dict)


def discover(
    calls: Sequence[PoolCall],
    options: TopicOptions = TopicOptions(),
    background: Sequence[str] = (),
    centres: Mapping[str, np.ndarray] | None = None,
    boilerplate: Boilerplate | None = None,
) -> Discovery:
    """Cluster ``calls`` and describe each cluster. ``background``: texts of calls outside the
    pool (the labeled ones) that the terms are contrasted with; ``centres``: the language means
    of the collection's call vectors (``features.language_centres``), taken off each call's
    vector; ``boilerplate``: the lines the pool shares (None: learned from the pool's texts),
    left out of the texts with filler. Topics are numbered from 1, the largest first."""
    ids = [c.call_id for c in calls]
    if len(set(ids)) != len(ids):
        raise InputError("the pool holds a call twice")
    min_size = options.size_for(len(calls))
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    if not calls:
        return Discovery([], [], min_size, seconds)
    if boilerplate is None:
        boilerplate = learn_boilerplate(calls)
    texts = {c.call_id: content_text(c.text, boilerplate) for c in calls}
    background = [content_text(text, boilerplate) for text in background]
    features = CallFeatures(calls, options.bm25_weight, centres)
    distance = features.distance()
    seconds["features"] = time.perf_counter() - started
    started = time.perf_counter()
    labels = cluster(distance, method=options.method, min_size=min_size)
    seconds["cluster"] = time.perf_counter() - started
    started = time.perf_counter()
    groups = [np.flatnonzero(labels == k) for k in range(int(labels.max(initial=NOISE)) + 1)]
    terms = distinctive_terms(
        [[texts[ids[i]] for i in rows] for rows in groups], background, top=options.terms
    )
    topics = []
    for number, (rows, found) in enumerate(zip(groups, terms, strict=True), start=1):
        closeness = features.to_centroid(rows)
        order = np.argsort(-closeness, kind="stable")
        members = [Member(ids[rows[i]], round(float(closeness[i]), 4)) for i in order]
        topics.append(Topic(number, members, found, round(float(closeness.mean()), 4)))
    seconds["terms"] = time.perf_counter() - started
    unclustered = [ids[i] for i in np.flatnonzero(labels == NOISE)]
    return Discovery(topics, unclustered, min_size, seconds, texts)
