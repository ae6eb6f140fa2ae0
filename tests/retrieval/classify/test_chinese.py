"""Chinese few-shot classification offline: five reasons, five short calls each, through the
production import, index and classifier (the bundled MiniLM is English-only: the BM25 and
Chinese-character features carry these calls)."""

from __future__ import annotations

from pathlib import Path

from app.core.models import Columns
from app.core.text import call_text
from app.runtime import Runtime
from app.services import calls
from ingest.labels import load_labeled
from retrieval.classify.knn import KnnClassifier

DATA = Path(__file__).parents[2] / "data" / "zh_calls_small.csv"


def test_chinese_calls_five_shots(runtime: Runtime) -> None:
    rows, errors = load_labeled(DATA, Columns(text="text", label="label"))
    assert not errors and len(rows) == 30
    train = [r for r in rows if r.split == "train"]
    test = [r for r in rows if r.split == "test"]
    assert len(train) == 25 and len(test) == 5
    results = calls.ingest_sources(runtime, train)
    assert all(r.status == "indexed" for r in results)
    clf = KnnClassifier(runtime.calls, runtime.embedder, runtime.sparse, runtime.settings.classify)
    found = clf.classify_texts([call_text(r.transcript) for r in test])
    assert [f.label for f in found] == [r.labels[0] for r in test]
    assert all(0 <= f.confidence <= 1 for f in found)
