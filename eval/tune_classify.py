"""Compare no-LLM classifier variants on one index (what docs/benchmarks.md reports as tried).

Indexes TRAIN once through the production path, embeds TEST once, then scores each variant of
the classifier settings on the same vectors. Used to choose the defaults in ClassifySettings.

    python -m eval.tune_classify --train train.csv --test dev.csv --label-col category --shots 10
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from app.core.config import load_settings
from app.core.models import Columns
from app.core.text import call_text
from app.runtime import Runtime
from app.services import calls
from eval.classify import sample_shots, score
from ingest.labels import load_labeled
from retrieval.classify.knn import KnnClassifier
from retrieval.classify.label_model import LabelModel

VARIANTS: dict[str, dict] = {
    "1-NN dense (baseline)": {"k": 1, "dense_weight": 1.0, "model_weight": 0.0},
    "vote k=10 dense": {"dense_weight": 1.0, "model_weight": 0.0},
    "vote k=10 dense 0.8 / bm25 0.2": {"dense_weight": 0.8, "model_weight": 0.0},
    "vote k=10 dense 0.5 / bm25 0.5": {"dense_weight": 0.5, "model_weight": 0.0},
    "model only (LR dense+bm25)": {"model_weight": 1.0},
    "vote dense + model 0.5": {"dense_weight": 1.0, "model_weight": 0.5},
    "vote dense 0.8 + model 0.5": {"dense_weight": 0.8, "model_weight": 0.5},
    "vote dense 0.8 + model 0.7": {"dense_weight": 0.8, "model_weight": 0.7},
}
MODELS: dict[str, dict] = {
    "C=10 bm25 x1": {"c": 10.0, "sparse_weight": 1.0},
    "C=10 bm25 x0.5": {"c": 10.0, "sparse_weight": 0.5},
    "C=30 bm25 x1": {"c": 30.0, "sparse_weight": 1.0},
    "C=10 dense only": {"c": 10.0, "sparse_weight": 0.0},
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--test", type=Path, required=True)
    parser.add_argument("--text-col", default="text")
    parser.add_argument("--label-col", default="label")
    parser.add_argument("--shots", type=int)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    columns = Columns(text=args.text_col, label=args.label_col)
    train, _ = load_labeled(args.train, columns)
    test, _ = load_labeled(args.test, columns)
    train = sample_shots(train, args.shots, args.seed)
    base = load_settings()
    with tempfile.TemporaryDirectory() as tmp:
        settings = base.with_changes(
            paths={"state_dir": Path(tmp), "models_dir": base.paths.models}
        )
        with Runtime(settings) as rt:
            calls.ingest_sources(rt, train)
            texts = [call_text(s.transcript) for s in test]
            clf0 = KnnClassifier(
                rt.calls, rt.embedder, rt.sparse, settings.classify, settings.index
            )
            views = clf0.call_views(texts)
            gold = [s.labels for s in test]
            clf = clf0
            items, _ = clf._labeled_vectors()  # noqa: SLF001 - tuning reaches inside on purpose
            for mname, mparams in MODELS.items():
                clf._model = LabelModel(**mparams).fit(items)  # noqa: SLF001
                for vname, vparams in VARIANTS.items():
                    if mname != next(iter(MODELS)) and not vparams.get("model_weight"):
                        continue  # model params do not matter without the model
                    clf.settings = settings.classify.model_copy(update=vparams)
                    started = time.perf_counter()
                    found = clf.classify_views(views)
                    took = time.perf_counter() - started
                    result = score(gold, found)
                    print(
                        json.dumps(
                            {
                                "variant": vname,
                                "model": mname,
                                "shots": args.shots,
                                "accuracy": result["accuracy"],
                                "macro_f1": result["macro_f1"],
                                "label_recall_at_k": result["label_recall_at_k"],
                                "calls_per_s": round(len(texts) / took, 1),
                            }
                        ),
                        flush=True,
                    )


if __name__ == "__main__":
    main()
