"""The labels of stored calls over HTTP: the labels in use, one call's labels and history, a
change to them, and undoing a change (``app.services.labels``).

A change states exactly what it does (``added``, ``removed``, ``change``); ``dry_run`` shows
it without writing (what a client asks its user to confirm). A label no call has yet is created
only with ``create_labels: true`` (else 409 ``new_label``), and ``expect`` (the labels the
client saw) refuses a change to a call that changed meanwhile (409 ``labels_changed``), as an
undo of a change that is no longer the call's latest is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import MAX_OFFSET, RuntimeDep
from app.api.responses import errors
from app.services import labels

router = APIRouter(prefix="/api", tags=["labels"])

Label = Annotated[str, Field(min_length=1, max_length=200)]
Labels = Annotated[list[Label], Field(max_length=50)]


class RelabelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: The exact new labels, primary first (instead of ``add``/``remove``).
    labels: Labels | None = None
    #: Labels to add and to remove (one of each: a replace, in the old label's place).
    add: Labels = []
    remove: Labels = []
    #: The labels the client saw: the change is refused (409) if the call has others now.
    expect: Labels | None = None
    #: Create labels no call has yet (otherwise 409 ``new_label``).
    create_labels: bool = False
    #: Say what would change; write nothing.
    dry_run: bool = False


class UndoRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: The label-history entry to undo (``GET /api/calls/{id}/labels`` lists them).
    entry: int = Field(ge=1, le=MAX_OFFSET)
    dry_run: bool = False


class LabelEditOut(BaseModel):
    call_id: str
    old: list[str]
    new: list[str]
    added: list[str]
    removed: list[str]
    #: In words: ``remove refund``, ``replace refund with delivery_delay``, ``add x``.
    change: str
    #: The label-history entry recording it (what an undo names); null in a dry run.
    entry: int | None
    dry_run: bool
    #: Labels no call had before this change.
    created_labels: list[str]


class CallLabelsOut(BaseModel):
    call_id: str
    labels: list[str]
    #: Oldest first: ``id``, ``old_labels``, ``new_labels``, ``source``, ``at``.
    history: list[dict[str, Any]]


@router.get("/labels")
def list_labels(runtime: RuntimeDep) -> dict[str, list[str]]:
    """Every label some indexed call has, sorted."""
    return {"labels": labels.known_labels(runtime)}


@router.get("/calls/{call_id}/labels", responses=errors(404))
def get_labels(call_id: str, runtime: RuntimeDep) -> CallLabelsOut:
    """A call's labels and label history (each entry's ``id`` is what an undo takes)."""
    with http_errors():
        found = labels.call_labels(runtime, call_id)
    return CallLabelsOut(call_id=found.call_id, labels=found.labels, history=found.history)


@router.post("/calls/{call_id}/labels", responses=errors(404))
def relabel(call_id: str, body: RelabelRequest, runtime: RuntimeDep) -> LabelEditOut:
    """Change a call's labels (exact set, or add/remove); ``dry_run`` only says what changes."""
    with http_errors():
        edit = labels.relabel_call(
            runtime,
            call_id,
            add=body.add,
            remove=body.remove,
            labels=body.labels,
            expect=body.expect,
            create_labels=body.create_labels,
            dry_run=body.dry_run,
            source="api",
        )
    return LabelEditOut(**edit.to_dict())


@router.post("/calls/{call_id}/labels/undo", responses=errors(404))
def undo(call_id: str, body: UndoRequest, runtime: RuntimeDep) -> LabelEditOut:
    """Restore the labels from before a label-history entry (409 if the call changed since)."""
    with http_errors():
        edit = labels.undo_relabel(runtime, call_id, body.entry, dry_run=body.dry_run, by="api")
    return LabelEditOut(**edit.to_dict())


@contextmanager
def http_errors() -> Iterator[None]:
    """A call that is not there: 404; labels changed meanwhile or a label to create: 409."""
    try:
        yield
    except labels.UnknownCallError as exc:
        raise HTTPException(404, detail={"code": "not_found", "message": str(exc)}) from None
    except labels.LabelsChangedError as exc:
        raise HTTPException(409, detail={"code": "labels_changed", "message": str(exc)}) from None
    except labels.NewLabelError as exc:
        message = f"{exc}: send create_labels=true to create it"
        raise HTTPException(409, detail={"code": "new_label", "message": message}) from None
