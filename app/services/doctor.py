"""Repair, the use case (``callscope doctor``): a damaged or emptied ledger of calls is rebuilt
from the vector store's payloads, a vector store that cannot be opened is rebuilt from the ledger
(``callscope reindex``), a damaged job table is set aside, and points no call owns are removed.

The store holds everything a ledger row needs except the content hash: each call point carries
its labels, origin, kind and language; its turn points carry speaker, words, times and session
dates in order. A rebuilt row has an empty hash, so the next ingest of the same file indexes it
again (replacing its points) instead of calling it unchanged. Damaged files are never deleted:
they are renamed ``<name>.damaged-<time>`` beside the new ones.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.config import Settings
from app.core.errors import StateError, StoreBusyError, StoreError
from app.core.models import Transcript, Turn
from app.runtime import Runtime
from app.services.reindex import reindex
from ingest.ledger import Ledger, connect
from retrieval.index.turn_points import TurnPoint


@dataclass
class DoctorReport:
    """What was found and what was done."""

    #: ``ok``, ``rebuilt`` (from the store) or ``damaged`` (check only).
    ledger: str = "ok"
    #: ``ok``, ``reset`` (damaged, set aside) or ``damaged`` (check only).
    jobs: str = "ok"
    #: ``ok``, ``rebuilt`` (from the ledger, as ``callscope reindex``) or ``damaged``.
    store: str = "ok"
    problems: list[str] = field(default_factory=list)
    #: Calls written into a rebuilt ledger.
    rebuilt_calls: int = 0
    #: Turn points of calls that have no call point and no ledger row (removed).
    orphan_points: int = 0
    #: Calls in the ledger whose points are gone (``callscope reindex`` restores them).
    missing_points: list[str] = field(default_factory=list)
    #: Damaged files renamed aside.
    kept: list[str] = field(default_factory=list)


def doctor(settings: Settings, *, repair: bool = True) -> DoctorReport:
    """Check the state dir against the store; with ``repair``, fix what is found."""
    report = DoctorReport()
    paths = settings.paths
    _check_jobs(paths.state_dir / "jobs.sqlite", report, repair)
    ledger_problem = _ledger_problem(paths.ledger)
    with Runtime(settings) as runtime:
        try:
            runtime.turns  # noqa: B018 - both collections must open
            stored = _calls_in_store(runtime)
        except StoreBusyError:
            raise  # in use by another process: not damaged, and not ours to touch now
        except StoreError as exc:
            # Unreadable vector store: rebuilt from the ledger, which keeps every transcript.
            report.problems.append(f"the vector store cannot be opened: {exc}")
            report.store = "damaged"
            if not repair or ledger_problem is not None:
                return report
            rebuilt = reindex(runtime)
            report.kept += rebuilt.set_aside
            report.store = "rebuilt"
            stored = _calls_in_store(runtime)
        if ledger_problem is None:
            ledger = Ledger(paths.ledger)
            if not sum(ledger.counts().values()) and stored:
                ledger_problem = f"the ledger lists no calls but the store holds {len(stored)}"
            ledger.close()
        if ledger_problem is not None:
            report.problems.append(ledger_problem)
            report.ledger = "damaged"
            if not repair:
                return report
            report.kept += _set_aside(paths.ledger)
            report.ledger = "rebuilt"
        ledger = Ledger(paths.ledger)
        try:
            if report.ledger == "rebuilt":
                report.rebuilt_calls = _rebuild(runtime, ledger, stored)
            known = {row.call_id for row in ledger.rows()}
            turn_owners = _turn_point_owners(runtime)
            orphans = sorted(turn_owners - known - set(stored))
            if orphans:
                report.problems.append(f"{len(orphans)} call(s) have turn points but no record")
                if repair:
                    for call_id in orphans:
                        report.orphan_points += runtime.turns.count({"call_id": call_id})
                        runtime.turns.delete({"call_id": call_id})
            report.missing_points = sorted(
                row.call_id
                for row in ledger.rows("indexed")
                if row.call_id not in turn_owners or row.call_id not in stored
            )
            if report.missing_points:
                report.problems.append(
                    f"{len(report.missing_points)} indexed call(s) have no points: run "
                    "`callscope reindex`"
                )
        finally:
            ledger.close()
    return report


def _ledger_problem(path: Path) -> str | None:
    if not path.exists():
        return None
    try:
        Ledger(path).close()
    except StateError as exc:
        return str(exc)
    return None


def _check_jobs(path: Path, report: DoctorReport, repair: bool) -> None:
    """The job table only records background work: a damaged one is set aside and started
    afresh (the calls those jobs indexed are in the ledger and the store)."""
    if not path.exists():
        return
    try:
        connect(path, "").close()
    except StateError as exc:
        report.problems.append(str(exc))
        report.jobs = "damaged"
        if repair:
            report.kept += _set_aside(path)
            report.jobs = "reset"


def _set_aside(path: Path) -> list[str]:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    kept = []
    for suffix in ("", "-wal", "-shm"):
        part = Path(f"{path}{suffix}")
        if part.exists():
            target = part.with_name(f"{part.name}.damaged-{stamp}")
            part.rename(target)
            kept.append(target.name)
    return kept


def _calls_in_store(runtime: Runtime) -> dict[str, dict[str, Any]]:
    return {p.payload["call_id"]: p.payload for p in runtime.calls.scroll()}


def _turn_point_owners(runtime: Runtime) -> set[str]:
    return {p.payload["call_id"] for p in runtime.turns.scroll()}


def _rebuild(runtime: Runtime, ledger: Ledger, stored: dict[str, dict[str, Any]]) -> int:
    """One indexed ledger row per call point, its transcript from its turn points."""
    units: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for point in runtime.turns.scroll():
        units[point.payload["call_id"]].append(point.payload)
    for call_id, call in stored.items():
        transcript = _transcript(units.get(call_id, []), call.get("date"))
        ends = [t.end for t in transcript.turns if t.end is not None]
        ledger.upsert(
            call_id,
            collection=runtime.turns.info.name,
            kind=call.get("source_kind", "text"),
            origin=call.get("origin", call_id),
            content_hash="",
            state="indexed",
            labels=list(call.get("labels") or []),
            n_turn_points=len(units.get(call_id, [])),
            language=call.get("language"),
            duration=max(ends) if ends else None,
            warnings=["ledger row rebuilt from the store by `callscope doctor`"],
            transcript=transcript,
        )
    return len(stored)


def _transcript(units: list[dict[str, Any]], call_date: Any) -> Transcript:
    """The turns of a call from its turn points (pieces of one turn joined, in order)."""
    turns: list[Turn] = []
    last = None
    for u in sorted((TurnPoint.of(u) for u in units), key=lambda u: (u.turn, u.part)):
        date = u.date if u.date != call_date else None
        if last is not None and u.turn == last:
            t = turns[-1]
            turns[-1] = Turn(t.speaker, f"{t.text} {u.words}", t.start, u.end, t.date)
        else:
            turns.append(Turn(u.speaker, u.words, u.start, u.end, date))
        last = u.turn
    return Transcript(turns=turns)
