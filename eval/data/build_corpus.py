"""Build the turn-level retrieval corpus for the demo gold set, and check the gold queries.

    python eval/data/build_corpus.py           # writes eval/data/demo_corpus.jsonl
    python eval/data/build_corpus.py --check   # also validates eval/data/demo_queries.jsonl

One row per turn of ``app/demo/calls.jsonl``, in file (call) order, then turn order::

    {"id": "demo-001:t0", "text": "...", "call_id": "demo-001", "speaker": "agent",
     "date": "2026-09-01"}

The output depends only on ``calls.jsonl``: same input, byte-identical output.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CALLS = ROOT / "app" / "demo" / "calls.jsonl"
CORPUS = HERE / "demo_corpus.jsonl"
QUERIES = HERE / "demo_queries.jsonl"

#: sha256 of the calls.jsonl the gold queries were written against. Rebuilding the demo corpus
#: (app/demo/build_calls.py) reassigns ids, which would silently break every evidence id.
CALLS_SHA256 = "1f81436a8c1f2fc2d26b32f4f6a27d3f9933218630d768d11d2e14360d1defd0"

CJK = re.compile(r"[\u4e00-\u9fff]")


def turn_rows(calls_path: Path) -> list[dict]:
    rows = []
    with calls_path.open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            call = json.loads(line)
            for i, turn in enumerate(call["turns"]):
                if turn["speaker"] not in ("agent", "customer"):
                    speaker = turn["speaker"]
                    raise ValueError(f"{call['id']} turn {i}: unexpected speaker {speaker!r}")
                rows.append(
                    {
                        "id": f"{call['id']}:t{i}",
                        "text": turn["text"],
                        "call_id": call["id"],
                        "speaker": turn["speaker"],
                        "date": call["date"],
                    }
                )
    return rows


def write_jsonl(rows: list[dict], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def check(corpus: list[dict], queries_path: Path) -> int:
    """Validate the gold queries against the corpus; print counts. Returns the number of errors."""
    by_id = {row["id"]: row for row in corpus}
    errors: list[str] = []
    if len(by_id) != len(corpus):
        errors.append("duplicate corpus ids")

    queries = []
    with queries_path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                queries.append((n, json.loads(line)))
            except json.JSONDecodeError as e:
                errors.append(f"line {n}: bad JSON ({e})")

    seen: dict[str, int] = {}
    counts: Counter = Counter()
    referenced: set[str] = set()
    for n, q in queries:
        extra = set(q) - {"question", "evidence", "call_id"}
        if extra:
            errors.append(f"line {n}: unexpected keys {sorted(extra)}")
        question = q.get("question")
        evidence = q.get("evidence")
        if not isinstance(question, str) or not question.strip():
            errors.append(f"line {n}: missing question")
            continue
        norm = " ".join(question.lower().split())
        if norm in seen:
            errors.append(f"line {n}: duplicate of line {seen[norm]}: {question!r}")
        seen[norm] = n
        if not isinstance(evidence, list) or not evidence:
            errors.append(f"line {n}: evidence must be a non-empty list")
            continue
        if len(set(evidence)) != len(evidence):
            errors.append(f"line {n}: repeated evidence id")
        missing = [e for e in evidence if e not in by_id]
        if missing:
            errors.append(f"line {n}: unknown evidence ids {missing}")
            continue
        calls = {by_id[e]["call_id"] for e in evidence}
        call_id = q.get("call_id")
        if call_id is not None:
            if not any(row["call_id"] == call_id for row in corpus):
                errors.append(f"line {n}: unknown call_id {call_id!r}")
            if calls != {call_id}:
                errors.append(f"line {n}: evidence {evidence} not all in call {call_id}")
        elif len(calls) != 1:
            errors.append(f"line {n}: evidence spans several calls {sorted(calls)}")

        lang = "zh" if CJK.search(question) else "en"
        scope = "with_call_id" if call_id is not None else "corpus_wide"
        counts[(lang, scope)] += 1
        counts["evidence"] += len(evidence)
        referenced |= calls

    total = len(queries)
    print(f"corpus: {len(corpus)} turns from {len({r['call_id'] for r in corpus})} calls")
    print(f"queries: {total}")
    for lang in ("en", "zh"):
        w, c = counts[(lang, "with_call_id")], counts[(lang, "corpus_wide")]
        print(f"  {lang}: {w + c} ({w} with call_id, {c} corpus-wide)")
    w = counts[("en", "with_call_id")] + counts[("zh", "with_call_id")]
    print(f"  with call_id: {w}, without: {total - w}")
    if total:
        n_ev = counts["evidence"]
        print(f"  evidence ids: {n_ev} (mean {n_ev / total:.2f} per query)")
    print(f"  distinct calls referenced: {len(referenced)}")
    for e in errors:
        print(f"ERROR {e}", file=sys.stderr)
    print("check: OK" if not errors else f"check: {len(errors)} error(s)")
    return len(errors)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--calls", type=Path, default=CALLS)
    ap.add_argument("--out", type=Path, default=CORPUS)
    ap.add_argument("--queries", type=Path, default=QUERIES)
    ap.add_argument("--check", action="store_true", help="validate the gold queries")
    args = ap.parse_args(argv)

    digest = hashlib.sha256(args.calls.read_bytes()).hexdigest()
    if digest != CALLS_SHA256:
        print(
            f"WARNING {args.calls} has changed since the gold queries were written "
            f"(sha256 {digest[:12]}, expected {CALLS_SHA256[:12]}); re-read the evidence ids",
            file=sys.stderr,
        )
    rows = turn_rows(args.calls)
    write_jsonl(rows, args.out)
    print(f"wrote {len(rows)} turns to {args.out}")
    if args.check:
        errors = check(rows, args.queries)
        return 1 if errors or digest != CALLS_SHA256 else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
