"""A call as the classifier sees it, and which stored calls may teach it.

A stored call point and a new call seen through ``KnnClassifier.call_views`` give the same
:class:`CallView` for the same words: the call vector, BM25 of the whole call and of its
opening, its ``Speaker: text`` lines and whether it is Chinese.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from app.core.text import has_cjk
from retrieval.index.store import SPARSE_OPENING, SparseVec

#: Calls held back for evaluation never serve as neighbours or training examples.
HELD_BACK = "test"


@dataclass(frozen=True)
class CallView:
    """A call as the classifier sees it: what a stored call point holds."""

    dense: np.ndarray
    sparse: SparseVec
    opening: SparseVec
    #: ``Speaker: text`` lines (cut at ``ingest.turns.CALL_TEXT_CHARS``).
    text: str
    chinese: bool


def stored_view(point: Any) -> CallView:
    """A stored call point as the classifier sees it."""
    text = str(point.payload.get("text", ""))
    return CallView(
        dense=np.asarray(point.dense, dtype=np.float32),
        sparse=point.sparse or SparseVec([], []),
        opening=point.more.get(SPARSE_OPENING) or SparseVec([], []),
        text=text,
        chinese=has_cjk(text),
    )


def trainable(payload: dict[str, Any]) -> bool:
    """A labeled call that is not held back: it may vote and train the light model."""
    return bool(payload.get("labels")) and payload.get("split") != HELD_BACK
