"""How the quality-inspection rules see a stored call (``app.services.inspection``): its turns
with roles, metrics, labels, prediction and metadata from the ledger and the call point, and the
similarity of its stored turn vectors to a rule's example sentences, centred per language.
Nothing of the call is embedded again; only the examples are (once per check).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from app.core.text import has_cjk
from app.runtime import Runtime
from ingest.ledger import LedgerRow
from ingest.roles import role_of
from retrieval.index.points import DENSE
from retrieval.inspection import CallView, TurnView

#: When a turn means an example: the cosine of the two vectors, each first centred on the mean
#: turn vector of its language (Chinese or not) and made unit length again. Raw cosines of e5
#: sit in a narrow band whose height differs by language (Chinese turns 0.89-0.91 against a
#: complaint example whatever they say, English 0.80-0.85), so no one threshold held in both;
#: centred, complaints scored 0.29-0.57 and other turns at most 0.29 (16 turns, both languages;
#: in the tests' calls 0.29 and 0.40 against at most 0.20). Per embedder (a part of its model
#: id); a rule may set its own, and the preview shows the scores.
MEANING_THRESHOLDS = {"multilingual-e5": 0.28}
#: For an embedder not measured (MiniLM included): set min_similarity in the rule.
OTHER_EMBEDDER_THRESHOLD = 0.3
#: Turn lines of the demo corpus the language means start from (a store with fewer turns of a
#: language than this uses them); a store with more uses a sample of its own.
REFERENCE_TURNS = 300
#: Turn points read for the language means (by id order, so the languages come mixed).
_MEANS_SCAN = 20 * REFERENCE_TURNS
#: The payload keys a reader of turn vectors needs.
_VECTOR_FIELDS = ("call_id", "turn", "text")
#: Call ids in one scroll of turn vectors (one any-of filter condition).
_IDS_PER_SCROLL = 500


def stored_payloads(runtime: Runtime) -> dict[str, dict[str, Any]]:
    """Every stored call's call-point payload, by call id (one scroll of the call points)."""
    return {
        p.payload["call_id"]: p.payload for p in runtime.calls.scroll() if p.payload.get("call_id")
    }


def stored_call_ids(runtime: Runtime) -> list[str]:
    return sorted(stored_payloads(runtime))


def call_payloads(runtime: Runtime, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    wanted = set(ids)
    if len(wanted) <= 64:
        found: dict[str, dict[str, Any]] = {}
        for call_id in wanted:
            for p in runtime.calls.scroll({"call_id": call_id}, limit=1):
                found[call_id] = p.payload
        return found
    return {
        p.payload["call_id"]: p.payload
        for p in runtime.calls.scroll()
        if p.payload.get("call_id") in wanted
    }


class CallChecker:
    """Builds a call's :class:`CallView`: its turns with roles, metrics, labels and the last
    classification from the store, and the similarity of its stored turn vectors to a rule's
    examples (each example set embedded once per check)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.names = runtime.settings.whisper.channel_speakers
        self.fields = runtime.settings.ingest.metadata_fields
        model = runtime.embedder.model_id.lower()
        self.threshold = next(
            (v for k, v in MEANING_THRESHOLDS.items() if k in model), OTHER_EMBEDDER_THRESHOLD
        )
        self._examples: dict[tuple[str, ...], np.ndarray] = {}
        self._language_means: dict[bool, np.ndarray] | None = None
        #: call id -> (turn of each stored piece, its centred vectors), from load_vectors.
        self._vectors: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def view(self, row: LedgerRow, payload: dict[str, Any]) -> CallView:
        transcript = row.transcript
        assert transcript is not None
        turns = [
            TurnView(i, role_of(t.speaker, self.names), t.text, t.start, t.end)
            for i, t in enumerate(transcript.turns)
        ]
        return CallView(
            row.call_id,
            turns,
            duration=transcript.duration,
            metrics=dict(payload.get("metrics") or {}),
            labels=list(payload.get("labels") or []),
            predicted=payload.get("predicted"),
            confidence=payload.get("confidence"),
            metadata={f: payload[f] for f in self.fields if f in payload},
            similarity=lambda examples: self._similarity(row.call_id, examples),
            meaning_threshold=self.threshold,
        )

    def load_vectors(self, call_ids: Sequence[str]) -> None:
        """Read the stored turn vectors of ``call_ids`` in one scroll a page, centred as the
        similarities use them, replacing those read before: an apply over the whole store
        reads a page of calls at a time instead of one scroll a call."""
        means = self._means()
        owners: list[str] = []
        turns: list[int] = []
        chinese: list[bool] = []
        dense: list[Any] = []
        for at in range(0, len(call_ids), _IDS_PER_SCROLL):
            chunk = list(call_ids[at : at + _IDS_PER_SCROLL])
            where = {"call_id": chunk[0] if len(chunk) == 1 else chunk}
            for p in self.runtime.turns.scroll(where, with_vectors=DENSE, fields=_VECTOR_FIELDS):
                if p.dense is None or p.payload.get("call_id") is None:
                    continue
                owners.append(p.payload["call_id"])
                turns.append(int(p.payload.get("turn", -1)))
                chinese.append(has_cjk(str(p.payload.get("text", ""))))
                dense.append(p.dense)
        # Centred all at once (as _centred does one vector): unit length, minus the mean of the
        # turn's language, unit length again.
        matrix = np.asarray(dense, dtype=np.float32).reshape(len(dense), -1)
        matrix = matrix / _norms(matrix)
        if len(dense):
            matrix = matrix - np.where(np.asarray(chinese)[:, None], means[True], means[False])
            matrix = matrix / _norms(matrix)
        rows: dict[str, list[int]] = {c: [] for c in call_ids}
        for k, owner in enumerate(owners):
            if owner in rows:
                rows[owner].append(k)
        numbers = np.asarray(turns, dtype=int)
        self._vectors = {
            call_id: (
                (numbers[found], matrix[found])
                if found
                else (np.zeros(0, dtype=int), np.zeros((0, 0), np.float32))
            )
            for call_id, found in rows.items()
        }

    def pieces(self, call_id: str) -> tuple[np.ndarray, np.ndarray]:
        """The call's stored turn vectors, centred: (the turn of each piece, its vectors)."""
        if call_id not in self._vectors:
            self.load_vectors([call_id])
        return self._vectors[call_id]

    def examples(self, examples: tuple[str, ...]) -> np.ndarray:
        """The examples embedded (once per checker) and centred as the turn vectors are."""
        return self._embedded(examples)

    def _similarity(self, call_id: str, examples: tuple[str, ...]) -> dict[int, tuple[float, str]]:
        turns, matrix = self.pieces(call_id)
        if not len(turns):
            return {}
        scores = matrix @ self._embedded(examples).T  # pieces x examples
        closest = scores.argmax(axis=1)
        best: dict[int, tuple[float, str]] = {}
        for turn, i, score in zip(
            turns.tolist(), closest.tolist(), scores.max(axis=1).tolist(), strict=True
        ):
            if score > best.get(turn, (-1.0, ""))[0]:
                best[turn] = (score, examples[i])
        return best

    def _embedded(self, examples: tuple[str, ...]) -> np.ndarray:
        if examples not in self._examples:
            # Embedded as stored text is (a passage); centred on their own language's mean.
            vectors = np.asarray(self.runtime.embedder.embed(list(examples)), dtype=np.float32)
            means = self._means()
            self._examples[examples] = np.stack(
                [_centred(v, means[has_cjk(x)]) for v, x in zip(vectors, examples, strict=True)]
            )
        return self._examples[examples]

    def _means(self) -> dict[bool, np.ndarray]:
        if self._language_means is None:
            self._language_means = language_means(self.runtime)
        return self._language_means


def _norms(matrix: np.ndarray) -> np.ndarray:
    """Each row's length as a column (1 for a zero row: it stays zero)."""
    n = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.where(n == 0, 1.0, n).astype(matrix.dtype)


def _centred(v: np.ndarray, mean: np.ndarray) -> np.ndarray:
    v = v / (np.linalg.norm(v) or 1.0) - mean
    return v / (np.linalg.norm(v) or 1.0)


_means_cache: dict[tuple[str, str, int], dict[bool, np.ndarray]] = {}


def language_means(runtime: Runtime) -> dict[bool, np.ndarray]:
    """The mean unit turn vector of Chinese turns (True) and of the others (False): from the
    store's own turns when it holds enough of a language, else from the demo corpus's turn
    lines (embedded once per process and embedder)."""
    store = runtime.turns
    key = (str(runtime.settings.paths.state_dir), runtime.embedder.model_id, store.writes)
    if key in _means_cache:
        return _means_cache[key]
    sums: dict[bool, list[np.ndarray]] = {True: [], False: []}
    for p in store.scroll(limit=_MEANS_SCAN, with_vectors=DENSE, fields=("text",)):
        if p.dense is not None:
            v = np.asarray(p.dense, dtype=np.float32)
            sums[has_cjk(str(p.payload.get("text", "")))].append(v / (np.linalg.norm(v) or 1.0))
    means: dict[bool, np.ndarray] = {}
    reference: dict[bool, np.ndarray] | None = None
    for zh in (True, False):
        if len(sums[zh]) >= REFERENCE_TURNS:
            means[zh] = np.mean(sums[zh], axis=0)
            continue
        reference = reference or _reference_means(runtime)
        means[zh] = reference[zh]
    _means_cache[key] = means
    return means


_reference_cache: dict[str, dict[bool, np.ndarray]] = {}


def _reference_means(runtime: Runtime) -> dict[bool, np.ndarray]:
    model = runtime.embedder.model_id
    if model not in _reference_cache:
        from app.demo import corpus_turn_lines

        lines = corpus_turn_lines()
        zh = [line for line in lines if has_cjk(line)][: REFERENCE_TURNS // 2]
        en = [line for line in lines if not has_cjk(line)][: REFERENCE_TURNS // 2]
        vectors = np.asarray(runtime.embedder.embed(zh + en), dtype=np.float32)
        vectors /= np.where((n := np.linalg.norm(vectors, axis=1, keepdims=True)) == 0, 1.0, n)
        _reference_cache[model] = {
            True: vectors[: len(zh)].mean(axis=0),
            False: vectors[len(zh) :].mean(axis=0),
        }
    return _reference_cache[model]
