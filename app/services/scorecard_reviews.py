"""Human review of scorecards (人工复核), the use case: a reviewer confirms or overturns one
answer of a call's scorecard with a comment (every review kept, the last counting), the call's
reviewed score beside the automatic one, the agreement per question (what QA teams call the
accuracy of automatic inspection) and the queue of unreviewed calls. A review can make an LLM
question start or stop counting in scores (``scorecards.counted_questions``): then every
stored score of the card is made again.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from app.core.errors import InputError
from app.runtime import Runtime
from app.services.scorecards import call_scores, counted_questions, scorecard_of
from retrieval.inspection.scorecards import card_score

__all__ = ["REVIEW_VALUES", "agreement", "review_answer", "review_queue", "reviewed"]

REVIEW_VALUES = ("yes", "no", "not_applicable")


def review_answer(
    runtime: Runtime,
    call_id: str,
    name: str,
    question: str,
    value: str,
    *,
    comment: str = "",
    by: str,
) -> dict[str, Any]:
    """A reviewer confirms or overturns one answer of a call's scorecard, with a comment; kept
    with the automatic answer it judged (the history of every review stays). Returns the
    call's reviewed score."""
    card, _ = scorecard_of(runtime, name)
    if value not in REVIEW_VALUES:
        raise InputError(f"review answer {value!r}: one of {', '.join(REVIEW_VALUES)}")
    ids = [q.id for q in card.questions]
    if question not in ids:
        raise InputError(f"scorecard {name} has no question {question!r}; one of {', '.join(ids)}")
    found = {c.name: r for c, r in call_scores(runtime, call_id)}
    automatic = next(a.value for a in found[name].answers if a.question == question)
    before = counted_questions(runtime, card)
    runtime.card_book.add_review(call_id, name, question, value, automatic, comment[:1000], by)
    after = counted_questions(runtime, card)
    if after != before:  # an LLM question starts (or stops) counting: every score made again
        runtime.card_book.rescore(name, lambda answers: card_score(card, answers, after))
    return reviewed(runtime, call_id, name)


def reviewed(runtime: Runtime, call_id: str, name: str) -> dict[str, Any]:
    """The call's answers as the reviewers left them (the last review of each question wins),
    the reviewed score beside the automatic one, and the review history."""
    card, _ = scorecard_of(runtime, name)
    found = {c.name: r for c, r in call_scores(runtime, call_id)}
    history = runtime.card_book.reviews(name, call_id)
    last = {h["question"]: h for h in history}
    answers = [
        replace(a, value=last[a.question]["value"], by="reviewer",
                note=last[a.question]["comment"]) if a.question in last else a
        for a in found[name].answers
    ]  # fmt: skip
    return {
        "call_id": call_id,
        "scorecard": name,
        "score": found[name].score,
        "reviewed_score": card_score(card, answers, counted_questions(runtime, card)),
        "reviewed": sorted(last),
        "history": history,
    }


def agreement(runtime: Runtime, name: str) -> dict[str, Any]:
    """Per question, how often the automatic answer was what the reviewer said (the last
    review of each call and question): the figure a QA team calls the accuracy of automatic
    inspection."""
    card, _ = scorecard_of(runtime, name)
    last: dict[tuple[str, str], dict[str, Any]] = {}
    for h in runtime.card_book.reviews(name):
        last[(h["call_id"], h["question"])] = h
    counted = counted_questions(runtime, card)
    rows = []
    for q in card.questions:
        judged = [h for (_, question), h in last.items() if question == q.id]
        agreed = sum(h["value"] == h["automatic"] for h in judged)
        rows.append({"question": q.id, "text": q.text, "reviewed": len(judged),
                     "agreed": agreed,
                     "agreement": round(agreed / len(judged), 3) if judged else None,
                     # an LLM question: whether its answers count in scores yet
                     "counted": q.id in counted if q.ask_llm else None})  # fmt: skip
    total = sum(r["reviewed"] for r in rows)
    agreed = sum(r["agreed"] for r in rows)
    return {"scorecard": name, "questions": rows, "reviewed": total,
            "agreement": round(agreed / total, 3) if total else None}  # fmt: skip


def review_queue(runtime: Runtime, name: str, limit: int = 50) -> list[dict[str, Any]]:
    """Scored calls no one has reviewed yet, lowest score first (the calls to listen to)."""
    scorecard_of(runtime, name)
    done = {h["call_id"] for h in runtime.card_book.reviews(name)}
    waiting = [
        (score, call_id)
        for call_id, (_, score) in runtime.card_book.scored(name).items()
        if call_id not in done and score is not None
    ]
    return [{"call_id": c, "score": s} for s, c in sorted(waiting)[:limit]]
