"""Quality-inspection rules (质检) over HTTP: the starter pack, save rules (YAML or JSON text,
or the rules as JSON), list them, preview rules on calls without saving, a rule's history,
delete and restore, and what the rules found on one call with its evidence.

Saving applies the changed rules to every stored call as a background job (202 + the job to
poll at ``/api/jobs/{id}``); ``apply=false`` only saves, ``wait=true`` applies inside the
request.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import JobsDep, RuntimeDep
from app.api.responses import errors
from app.api.routes.jobs import job_accepted
from app.services import inspection
from app.services.scorecards import NoSuchScorecard

router = APIRouter(prefix="/api/rules", tags=["quality inspection"])


@contextmanager
def not_found() -> Iterator[None]:
    """A missing rule, scorecard, version or call is a 404."""
    try:
        yield
    except (inspection.NoSuchRule, inspection.NoSuchCall, NoSuchScorecard) as exc:
        raise HTTPException(404, detail={"code": "not_found", "message": str(exc)}) from None


RuleName = Annotated[str, PathParam(min_length=1, max_length=60)]
CallIdPath = Annotated[str, PathParam(min_length=1, max_length=120)]
#: A rules file is written by a person: 256 KB is far more than 500 rules.
MAX_TEXT = 256_000


class RulesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: The rules as YAML or JSON text (the grammar: README "Quality inspection").
    text: str | None = Field(None, min_length=1, max_length=MAX_TEXT)
    #: Or the rules themselves: ``{"rules": [...]}`` or a list of rules.
    rules: dict[str, Any] | list[Any] | None = None
    #: Who makes the change (kept in each rule's history).
    by: str = Field("api", min_length=1, max_length=80)

    def source(self) -> str:
        import json

        if (self.text is None) == (self.rules is None):
            from app.core.errors import InputError

            raise InputError("give the rules as text or as rules (one of them)")
        return self.text if self.text is not None else json.dumps(self.rules, ensure_ascii=False)


class PreviewIn(RulesIn):
    #: The calls to check (default: the first ``limit`` stored calls).
    call_ids: list[Annotated[str, Field(min_length=1, max_length=120)]] = Field(
        default_factory=list, max_length=500
    )
    limit: int = Field(50, ge=1, le=500)


class RestoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, le=1_000_000)
    by: str = Field("api", min_length=1, max_length=80)


class RuleOut(BaseModel):
    name: str
    title: str
    description: str
    severity: str
    version: int
    #: Calls it matched, of the calls it was checked on.
    matched: int
    checked: int
    #: The rule as written (for an editor).
    rule: dict[str, Any]


@router.get("/starter", response_class=PlainTextResponse)
def starter() -> str:
    """The starter pack of rules (Chinese and English) as YAML, to edit and save."""
    return inspection.starter_rules()


@router.get("/alerts")
def alert_log(
    runtime: RuntimeDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[dict[str, Any]]:
    """The webhook delivery log of severe matches, newest first (state, attempts, last error)."""
    from app.services.alerts import alert_log as log

    return log(runtime, limit)


@router.get("")
def list_rules(runtime: RuntimeDep) -> list[RuleOut]:
    """The rules, with their severity, version and how many calls each matched."""
    return [
        RuleOut(name=r.name, title=r.title, description=r.description, severity=r.severity,
                version=r.version, matched=r.matched, checked=r.checked, rule=r.source)
        for r in inspection.list_rules(runtime)
    ]  # fmt: skip


@router.post("", status_code=202, responses={200: {"description": "Saved (and applied)"}})
def save_rules(
    body: RulesIn,
    runtime: RuntimeDep,
    jobs: JobsDep,
    apply: Annotated[bool, Query(description="Check every stored call afterwards.")] = True,
    wait: Annotated[bool, Query(description="Apply inside the request.")] = False,
) -> Any:
    """Save rules (a changed rule becomes a new version) and apply them to the stored calls."""
    text = body.source()
    if not apply or wait:
        actions, applied = inspection.save_rules(runtime, text, by=body.by, apply=apply)
        out: dict[str, Any] = {"rules": actions}
        if applied is not None:
            out["applied"] = _applied(applied)
        return JSONResponse(out)
    actions, _ = inspection.save_rules(runtime, text, by=body.by, apply=False)
    response = job_accepted(jobs.submit("rules_apply", {}))
    import json

    content = json.loads(response.body)
    return JSONResponse(
        status_code=202, content={"rules": actions, **content}, headers=dict(response.headers)
    )


@router.post("/preview")
def preview(body: PreviewIn, runtime: RuntimeDep) -> list[dict[str, Any]]:
    """Check rules on calls without saving anything: each call's result and evidence."""
    found = inspection.preview_rule(runtime, body.source(), body.call_ids or None,
                                    limit=body.limit)  # fmt: skip
    return [{"call_id": p.call_id, **inspection.result_dict(p.result)} for p in found]


@router.get("/{name}/history", responses=errors(404))
def history(name: RuleName, runtime: RuntimeDep) -> list[dict[str, Any]]:
    """Every version of a rule: the rule as written, who changed it, when and how."""
    with not_found():
        return inspection.rule_history(runtime, name)


@router.delete("/{name}", responses=errors(404))
def delete(name: RuleName, runtime: RuntimeDep, by: str = Query("api", max_length=80)) -> Any:
    """Delete a rule and its results (restore an earlier version to undo)."""
    with not_found():
        inspection.delete_rule(runtime, name, by=by)
    return {"deleted": name}


@router.post("/{name}/restore", responses=errors(404))
def restore(name: RuleName, body: RestoreIn, runtime: RuntimeDep) -> dict[str, Any]:
    """Make an earlier version of a rule current again (undoes a change or a deletion)."""
    with not_found():
        applied = inspection.restore_rule(runtime, name, body.version, by=body.by)
    return {"restored": name, "version": body.version, "applied": _applied(applied)}


calls_router = APIRouter(prefix="/api/calls", tags=["quality inspection"])


@calls_router.get("/{call_id}/inspection", responses=errors(404))
def call_inspection(call_id: CallIdPath, runtime: RuntimeDep) -> list[dict[str, Any]]:
    """What every rule found on one call, with the turns (time, speaker, words) that show it."""
    with not_found():
        found = inspection.call_inspection(runtime, call_id)
    return [
        {"title": info.title, "severity": info.severity, "version": info.version,
         **inspection.result_dict(result)}
        for info, result in found
    ]  # fmt: skip


def _applied(applied: inspection.Applied) -> dict[str, Any]:
    return {"calls": applied.calls, "checked": applied.checked, "matched": applied.matched}


scorecards_router = APIRouter(prefix="/api/scorecards", tags=["quality inspection"])


class ScoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: The calls to score (default: every stored call not scored with this version).
    call_ids: list[Annotated[str, Field(min_length=1, max_length=120)]] = Field(
        default_factory=list, max_length=10_000
    )
    #: Score calls already scored too.
    again: bool = False
    #: Let the LLM answer its questions (when one is configured).
    use_llm: bool = True


@scorecards_router.get("")
def list_scorecards(runtime: RuntimeDep) -> list[dict[str, Any]]:
    """The scorecards: questions, calls scored and the mean score."""
    from app.services.scorecards import list_scorecards as found

    return [
        {"name": c.name, "title": c.title, "version": c.version, "questions": c.questions,
         "scored": c.scored, "mean": c.mean, "scorecard": c.source}
        for c in found(runtime)
    ]  # fmt: skip


@scorecards_router.post("")
def save_scorecards(body: RulesIn, runtime: RuntimeDep) -> dict[str, Any]:
    """Save scorecards (YAML/JSON ``text``, or ``rules`` holding ``{"scorecards": [...]}``)."""
    from app.services.scorecards import save_scorecards as save

    return {"scorecards": save(runtime, body.source(), by=body.by)}


@scorecards_router.post("/{name}/score", responses=errors(404))
def score(name: RuleName, body: ScoreIn, runtime: RuntimeDep) -> dict[str, Any]:
    """Score stored calls with a scorecard (inside the request: LLM questions take seconds
    per call; score a few calls at a time, or use ``callscope scorecard score``)."""
    from app.services.scorecards import NoSuchScorecard, score_calls

    try:
        return score_calls(runtime, name, body.call_ids or None, again=body.again,
                           use_llm=body.use_llm)  # fmt: skip
    except NoSuchScorecard as exc:
        raise HTTPException(404, detail={"code": "not_found", "message": str(exc)}) from None


@scorecards_router.get("/{name}/report", responses=errors(404))
def report(
    name: RuleName, runtime: RuntimeDep, by: Annotated[str, Query(max_length=60)] = "agent"
) -> dict[str, Any]:
    """The mean score per agent (team, queue) and week, lowest first."""
    from app.services.scorecards import NoSuchScorecard, scorecard_report

    try:
        return scorecard_report(runtime, name, by=by)
    except NoSuchScorecard as exc:
        raise HTTPException(404, detail={"code": "not_found", "message": str(exc)}) from None


@scorecards_router.get("/{name}/history", responses=errors(404))
def scorecard_history(name: RuleName, runtime: RuntimeDep) -> list[dict[str, Any]]:
    """Every version of a scorecard: as written, who changed it, when and how."""
    from app.services import scorecards

    with not_found():
        return scorecards.scorecard_history(runtime, name)


@scorecards_router.delete("/{name}", responses=errors(404))
def delete_scorecard(
    name: RuleName, runtime: RuntimeDep, by: str = Query("api", max_length=80)
) -> Any:
    """Delete a scorecard (its scores and reviews stay; restore an earlier version to undo)."""
    from app.services import scorecards

    with not_found():
        scorecards.delete_scorecard(runtime, name, by=by)
    return {"deleted": name}


@scorecards_router.post("/{name}/restore", responses=errors(404))
def restore_scorecard(name: RuleName, body: RestoreIn, runtime: RuntimeDep) -> dict[str, Any]:
    """Make an earlier version of a scorecard current again (undoes a change or a deletion)."""
    from app.services import scorecards

    with not_found():
        scorecards.restore_scorecard(runtime, name, body.version, by=body.by)
    return {"restored": name, "version": body.version}


@calls_router.get("/{call_id}/scorecards", responses=errors(404))
def call_scorecards(call_id: CallIdPath, runtime: RuntimeDep) -> list[dict[str, Any]]:
    """One call's answers to every scorecard, with the turns they rest on; ``counted`` says
    whether an answer counts in the score (an LLM question counts once reviewers agree with
    it: ``LLM__SCORECARD_MIN_AGREEMENT``)."""
    from app.services.scorecards import call_cards

    with not_found():
        return call_cards(runtime, call_id)


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=60)
    #: What the reviewer says: yes, no or not_applicable.
    answer: str = Field(min_length=1, max_length=20)
    comment: str = Field("", max_length=1000)
    by: str = Field("api", min_length=1, max_length=80)


@calls_router.post("/{call_id}/scorecards/{name}/review", responses=errors(404))
def review(call_id: CallIdPath, name: RuleName, body: ReviewIn, runtime: RuntimeDep) -> Any:
    """Confirm or overturn one answer of a call's scorecard, with a comment (人工复核)."""
    from app.services.scorecard_reviews import review_answer
    from app.services.scorecards import NoSuchScorecard

    try:
        with not_found():
            return review_answer(runtime, call_id, name, body.question, body.answer,
                                 comment=body.comment, by=body.by)  # fmt: skip
    except NoSuchScorecard as exc:
        raise HTTPException(404, detail={"code": "not_found", "message": str(exc)}) from None


@scorecards_router.get("/{name}/agreement", responses=errors(404))
def agreement(name: RuleName, runtime: RuntimeDep) -> dict[str, Any]:
    """Per question, how often the automatic answer was what the reviewers said."""
    from app.services.scorecard_reviews import agreement as found
    from app.services.scorecards import NoSuchScorecard

    try:
        return found(runtime, name)
    except NoSuchScorecard as exc:
        raise HTTPException(404, detail={"code": "not_found", "message": str(exc)}) from None


@scorecards_router.get("/{name}/queue", responses=errors(404))
def queue(
    name: RuleName, runtime: RuntimeDep, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[dict[str, Any]]:
    """Scored calls no one has reviewed yet, lowest score first."""
    from app.services.scorecard_reviews import review_queue
    from app.services.scorecards import NoSuchScorecard

    try:
        return review_queue(runtime, name, limit)
    except NoSuchScorecard as exc:
        raise HTTPException(404, detail={"code": "not_found", "message": str(exc)}) from None
