"""Classification throughput and accuracy on long calls: ours vs a plain kNN script, one run.

Indexes TRAIN through the production pipeline (turn points and call points) into a temporary
store, then classifies TEST three ways, each timed:

* **new calls**: ``KnnClassifier.classify_texts`` (what ``callscope classify`` does with a
  transcript: its turns embedded once, the vote, the light model);
* **stored calls**: TEST indexed too (unlabeled), then ``KnnClassifier.classify_stored`` from
  the vectors the index holds (what classifying after ingest costs: nothing embedded again);
* **plain**: the whole transcript embedded as one text with the same MiniLM, one Qdrant query
  over the same call points, majority label of the 10 nearest (the 40-line script a user would
  write first).

The model fit (once per label change) is timed apart. Accuracy is of the first label; with
several labels per row the exact-set accuracy is printed too.

    python -m eval.bench_calls --train train.csv --test test.csv --label-col labels \\
        --json docs/bench_calls.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from app.core.config import load_settings
from app.core.models import Columns
from app.core.text import call_text
from app.runtime import Runtime
from app.services import calls
from ingest.labels import load_labeled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--test", type=Path, required=True)
    parser.add_argument("--text-col", default="text")
    parser.add_argument("--label-col", default="label")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    columns = Columns(text=args.text_col, label=args.label_col)
    train, _ = load_labeled(args.train, columns)
    test, _ = load_labeled(args.test, columns)
    for s in train:
        s.split = "train"
    gold = [s.labels for s in test]
    texts = [call_text(s.transcript) for s in test if s.transcript is not None]
    base = load_settings()
    out: dict[str, Any] = {"n_train": len(train), "n_test": len(test)}
    with tempfile.TemporaryDirectory() as tmp:
        settings = base.with_changes(
            paths={"state_dir": Path(tmp), "models_dir": base.paths.models}
        )
        with Runtime(settings) as rt:
            started = time.perf_counter()
            calls.ingest_sources(rt, train)
            out["ingest_train_s"] = round(time.perf_counter() - started, 2)
            clf = rt.classifier
            started = time.perf_counter()
            clf.label_model()
            out["model_fit_s"] = round(time.perf_counter() - started, 2)

            started = time.perf_counter()
            new = clf.classify_texts(texts)
            out["new_calls"] = _scores(gold, [r.labels for r in new], started)

            started = time.perf_counter()
            vectors = rt.embedder.embed(texts)
            plain = []
            for v in vectors:
                hits = rt.calls.query(dense=v, filter={"split": "train"}, limit=10)
                votes = Counter(h.payload["labels"][0] for h in hits)
                plain.append([votes.most_common(1)[0][0]] if votes else [])
            out["plain"] = _scores(gold, plain, started)
            # The same calls stored (unlabeled, so they never vote), then classified from the
            # vectors the index holds.
            for s in test:
                s.labels, s.split, s.call_id = [], None, f"t-{s.call_id}"
            started = time.perf_counter()
            calls.ingest_sources(rt, test)
            out["ingest_test_s"] = round(time.perf_counter() - started, 2)
            started = time.perf_counter()
            stored = clf.classify_stored([s.call_id for s in test])
            out["stored_calls"] = _scores(gold, [r.labels for r in stored], started)

    for name in ("new_calls", "stored_calls", "plain"):
        out[name]["speedup_vs_plain"] = round(
            out[name]["calls_per_s"] / out["plain"]["calls_per_s"], 2
        )
    print(json.dumps(out, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")


def _scores(gold: list[list[str]], predicted: list[list[str]], started: float) -> dict[str, float]:
    took = time.perf_counter() - started
    first = sum(bool(p) and p[0] == g[0] for g, p in zip(gold, predicted, strict=True))
    exact = sum(set(p) == set(g) for g, p in zip(gold, predicted, strict=True))
    return {
        "first_label_accuracy": round(first / len(gold), 4),
        "exact_set_accuracy": round(exact / len(gold), 4),
        "seconds": round(took, 2),
        "calls_per_s": round(len(gold) / took, 1),
    }


if __name__ == "__main__":
    main()
