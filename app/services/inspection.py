"""Quality inspection (质检): the rules a supervisor keeps, checked on every call.

One service behind ``callscope rules …``, ``/api/rules…`` and the Quality tab:

* rules are read from YAML or JSON (the grammar: ``retrieval.inspection.rules``), saved as new
  versions (every change undoable) and applied at once to every stored call whose results were
  made with another version: nothing is transcribed or embedded again (meaning conditions use
  the turn vectors the index holds; only a rule's own example sentences are embedded);
* a preview checks a rule that is not saved on chosen calls and keeps nothing;
* calls are checked as they are indexed (``calls``, ``batch``) once rules exist;
* what a rule found stays with its evidence (``RuleBook``) and the names of the matched rules
  go on the call's points as ``categories``, so ``-f category=no_greeting`` filters and
  Insights counts them like labels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import numpy as np

from app.core.errors import InputError, NoSuchCall
from app.core.text import has_cjk
from app.runtime import Runtime
from app.services import alerts
from ingest.ledger import LedgerRow
from retrieval.inspection import CallView, Rule, RuleResult, TurnView, evaluate, parse_rules
from retrieval.inspection.book import NoSuchRule

#: The payload key the matched rules' names go under (keyword-indexed, like labels).
CATEGORIES = "categories"
#: Rules found in one file at most: a file is written by a person.
MAX_RULES = 500
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


def starter_rules() -> str:
    """The starter pack (Chinese and English) as YAML, for a supervisor to edit."""
    return files("retrieval.inspection").joinpath("starter_rules.yaml").read_text("utf-8")


def read_rules(text: str) -> list[Rule]:
    """Rules from YAML or JSON text (JSON is YAML); an ``InputError`` says what and where."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"rules: not YAML or JSON ({_short(exc)})") from None
    rules = parse_rules(data)
    if len(rules) > MAX_RULES:
        raise InputError(f"rules: {len(rules)} rules in one file; at most {MAX_RULES}")
    return rules


@dataclass(frozen=True)
class RuleInfo:
    name: str
    title: str
    description: str
    severity: str
    version: int
    #: Calls it matched, of the calls it was checked on (at any version).
    matched: int
    checked: int
    source: dict[str, Any]


def list_rules(runtime: Runtime) -> list[RuleInfo]:
    book = runtime.rule_book
    counts = book.counts()
    return [
        RuleInfo(r.name, r.title, r.description, r.severity, v, *counts.get(r.name, (0, 0)),
                 source=r.source)
        for r, v in book.rules()
    ]  # fmt: skip


def matched_rules(runtime: Runtime, call_id: str) -> list[str]:
    """The current rules ``call_id`` matched (what its ``categories`` payload holds)."""
    live = {r.name for r, _ in runtime.rule_book.rules()}
    return sorted(
        r.rule for r, _, _ in runtime.rule_book.results(call_id) if r.matched and r.rule in live
    )


def rule_titles(runtime: Runtime) -> dict[str, str]:
    """name -> what the table shows: the rule's title, else its name."""
    return {r.name: r.title or r.name for r, _ in runtime.rule_book.rules()}


@dataclass(frozen=True)
class Applied:
    """What applying the rules did: calls checked, results made, matches by rule."""

    calls: int
    checked: int
    matched: dict[str, int]


def save_rules(
    runtime: Runtime,
    text: str,
    *,
    by: str,
    apply: bool = True,
    progress: Callable[[int, int, str], None] | None = None,
) -> tuple[dict[str, str], Applied | None]:
    """Save the rules of ``text`` (each a new version when it changed) and, with ``apply``,
    check every stored call against the rules that changed. Returns name -> added / changed /
    unchanged, and what applying did."""
    rules = read_rules(text)
    if apply:
        runtime.calls  # noqa: B018 - a store that cannot open fails before anything is saved
    actions = runtime.rule_book.save(rules, by)
    if not apply:
        return actions, None
    return actions, apply_rules(runtime, progress=progress)


def delete_rule(runtime: Runtime, name: str, *, by: str) -> None:
    """Delete a rule and its results (``restore_rule`` brings it back); its category leaves
    the calls it matched."""
    calls = runtime.rule_book.matched_calls(name)
    runtime.rule_book.delete(name, by)
    _set_categories(runtime, calls)


def restore_rule(runtime: Runtime, name: str, version: int, *, by: str) -> Applied:
    """Make an earlier version of a rule current again, and apply it."""
    runtime.rule_book.restore(name, version, by)
    return apply_rules(runtime)


def rule_history(runtime: Runtime, name: str) -> list[dict[str, Any]]:
    return runtime.rule_book.history(name)


def rule_names(runtime: Runtime) -> dict[str, bool]:
    """Every rule ever saved, name -> deleted now (a deleted rule can be restored)."""
    return runtime.rule_book.names()


def apply_rules(
    runtime: Runtime,
    call_ids: Sequence[str] | None = None,
    *,
    progress: Callable[[int, int, str], None] | None = None,
) -> Applied:
    """Check the stored calls (all, or ``call_ids``) against every rule whose result on them
    was made with another version (or never). Nothing is transcribed or embedded again."""
    current = runtime.rule_book.rules()
    report = progress or (lambda done, total, line: None)
    ids = list(call_ids) if call_ids is not None else stored_call_ids(runtime)
    if not current:
        return Applied(0, 0, {})
    checker = CallChecker(runtime)
    payloads = call_payloads(runtime, ids)
    matched: dict[str, int] = {}
    fresh: list[tuple[str, dict[str, Any], RuleResult]] = []
    written: list[str] = []
    checked = calls = 0
    for n, call_id in enumerate(ids):
        if n % 200 == 0:
            report(n, len(ids), f"checked {n} of {len(ids)} calls")
        row = runtime.ledger.get(call_id)
        if row is None or row.transcript is None or call_id not in payloads:
            continue
        done = runtime.rule_book.checked(call_id)
        todo = [(r, v) for r, v in current if done.get(r.name) != v]
        if not todo:
            continue
        view = checker.view(row, payloads[call_id])
        results = [(evaluate(r, view), v) for r, v in todo]
        new = runtime.rule_book.store(call_id, results)
        if new:
            fresh.extend((call_id, payloads[call_id], r) for r, _ in results if r.rule in new)
        calls += 1
        checked += len(results)
        for result, _ in results:
            if result.matched:
                matched[result.rule] = matched.get(result.rule, 0) + 1
        written.append(call_id)
        if len(written) >= _WRITE_EVERY:  # written as it goes: an interrupted apply keeps them
            _set_categories(runtime, written)
            written.clear()
    _set_categories(runtime, written)
    report(len(ids), len(ids), f"checked {len(ids)} calls")
    if fresh:
        alerts.raise_alerts(runtime, {r.name: r for r, _ in current}, fresh)
    return Applied(calls, checked, matched)


def recheck_calls(runtime: Runtime, call_ids: Iterable[str]) -> None:
    """Check calls again after what a rule reads changed: indexed anew, classified,
    relabeled (ingest, classification and relabeling call this). Nothing to do without rules."""
    ids = list(call_ids)
    if not ids or not runtime.rule_book.rules():
        return
    for call_id in ids:
        runtime.rule_book.outdate_call(call_id)
    apply_rules(runtime, ids)


@dataclass(frozen=True)
class Preview:
    call_id: str
    result: RuleResult


def preview_rule(
    runtime: Runtime, text: str, call_ids: Sequence[str] | None = None, *, limit: int = 50
) -> list[Preview]:
    """Check the rule(s) of ``text`` on ``call_ids`` (else the first ``limit`` stored calls)
    without saving anything: what a supervisor sees before saving a rule."""
    rules = read_rules(text)
    ids = list(call_ids) if call_ids else stored_call_ids(runtime)[:limit]
    checker = CallChecker(runtime)
    payloads = call_payloads(runtime, ids)
    out = []
    for call_id in ids:
        row = runtime.ledger.get(call_id)
        if row is None or row.transcript is None or call_id not in payloads:
            raise InputError(f"no indexed call {call_id!r}")
        view = checker.view(row, payloads[call_id])
        out.extend(Preview(call_id, evaluate(rule, view)) for rule in rules)
    return out


def call_inspection(runtime: Runtime, call_id: str) -> list[tuple[RuleInfo, RuleResult]]:
    """What each current rule found on one call, with its evidence (checked now if a rule is
    newer than its result)."""
    if runtime.ledger.get(call_id) is None:
        raise NoSuchCall(f"no call {call_id!r}")
    apply_rules(runtime, [call_id])
    rules = {r.name: r for r in list_rules(runtime)}
    return [
        (rules[result.rule], result)
        for result, _, _ in runtime.rule_book.results(call_id)
        if result.rule in rules
    ]


# -- internals -------------------------------------------------------------------------------


def stored_call_ids(runtime: Runtime) -> list[str]:
    return sorted(p.payload["call_id"] for p in runtime.calls.scroll() if p.payload.get("call_id"))


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


def _set_categories(runtime: Runtime, call_ids: Iterable[str]) -> None:
    """The names of the rules a call matches, on its call point and its turn points: one
    write per distinct set of names (a write flushes the shard: ~28 ms each on Qdrant Edge,
    four fifths of an apply when it was one write per call)."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for call_id in dict.fromkeys(call_ids):
        groups.setdefault(tuple(matched_rules(runtime, call_id)), []).append(call_id)
    for names, ids in groups.items():
        for at in range(0, len(ids), _WRITE_IDS):
            chunk = ids[at : at + _WRITE_IDS]
            where = {"call_id": chunk[0] if len(chunk) == 1 else chunk}
            # A note about the call, like its prediction: the classifier does not refit for it.
            for store in (runtime.calls, runtime.turns):
                store.set_payload(where, {CATEGORIES: list(names)}, annotation=True)


#: Calls checked between two payload writes of their categories.
_WRITE_EVERY = 2000
#: Call ids in one payload write (one filter condition of any-of values).
_WRITE_IDS = 500


class CallChecker:
    """Builds a call's :class:`CallView`: its turns with roles, metrics, labels and the last
    classification from the store, and the similarity of its stored turn vectors to a rule's
    examples (each example set embedded once per check)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        agent, customer = runtime.settings.whisper.channel_speakers
        self.roles = {agent: "agent", customer: "customer"}
        self.fields = runtime.settings.ingest.metadata_fields
        model = runtime.embedder.model_id.lower()
        self.threshold = next(
            (v for k, v in MEANING_THRESHOLDS.items() if k in model), OTHER_EMBEDDER_THRESHOLD
        )
        self._examples: dict[tuple[str, ...], np.ndarray] = {}
        self._language_means: dict[bool, np.ndarray] | None = None

    def view(self, row: LedgerRow, payload: dict[str, Any]) -> CallView:
        transcript = row.transcript
        assert transcript is not None
        turns = [
            TurnView(i, self.roles.get(t.speaker, t.speaker), t.text, t.start, t.end)
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

    def _similarity(self, call_id: str, examples: tuple[str, ...]) -> dict[int, tuple[float, str]]:
        wanted = self._embedded(examples)
        best: dict[int, tuple[float, str]] = {}
        for p in self.runtime.turns.scroll({"call_id": call_id}, with_vectors=True):
            if p.dense is None:
                continue
            text = str(p.payload.get("text", ""))
            v = _centred(np.asarray(p.dense, dtype=np.float32), self._means()[has_cjk(text)])
            scores = wanted @ v
            i = int(np.argmax(scores))
            turn = int(p.payload.get("turn", -1))
            if float(scores[i]) > best.get(turn, (-1.0, ""))[0]:
                best[turn] = (float(scores[i]), examples[i])
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
    for p in store.scroll(limit=4 * REFERENCE_TURNS, with_vectors=True):
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


def result_dict(result: RuleResult) -> dict[str, Any]:
    return {
        "rule": result.rule,
        "matched": result.matched,
        "evidence": [
            {"turn": e.turn, "speaker": e.role, "text": e.text, "start": e.start,
             "end": e.end, "why": e.why}
            for e in result.evidence
        ],
    }  # fmt: skip


def _short(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200]


__all__ = [
    "CATEGORIES",
    "NoSuchCall",
    "NoSuchRule",
    "Applied",
    "Preview",
    "RuleInfo",
    "apply_rules",
    "call_inspection",
    "delete_rule",
    "recheck_calls",
    "list_rules",
    "matched_rules",
    "preview_rule",
    "read_rules",
    "restore_rule",
    "result_dict",
    "rule_history",
    "rule_names",
    "rule_titles",
    "save_rules",
    "starter_rules",
]
