"""Webhook alerts for severe quality-inspection matches (``settings.alerts``).

When a rule of at least ``alerts.min_severity`` newly matches a call (it did not match that
call before), one JSON event per configured URL goes into the delivery log (the ``alerts``
table beside the rules) and a background thread POSTs it: signed with HMAC-SHA256 over the body
(``X-CallScope-Signature: sha256=<hex>``), with the event id in ``X-CallScope-Event-Id`` (a
receiver dedupes on it: delivery is at least once), retried with doubling waits up to
``alerts.max_attempts``, then kept as failed. Nothing that indexes or checks calls waits for a
delivery. A process that ends with events still pending leaves them in the log; the next
server, ``callscope rules alerts --send`` or the next match sends them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from app.runtime import Runtime
from retrieval.inspection import Rule, RuleResult
from retrieval.inspection.rules import SEVERITIES

log = logging.getLogger(__name__)

EVENT = "inspection.match"
#: The longest a waiting delivery thread sleeps before looking at the log again.
MAX_SLEEP = 30.0


def raise_alerts(
    runtime: Runtime, rules: dict[str, Rule], fresh: list[tuple[str, dict[str, Any], RuleResult]]
) -> int:
    """Queue an event per URL for each new match of a severe enough rule; start delivering.
    Returns the events queued."""
    settings = runtime.settings.alerts
    if not settings.webhooks:
        return 0
    least = SEVERITIES.index(settings.min_severity)
    queued = 0
    for call_id, payload, result in fresh:
        rule = rules.get(result.rule)
        if rule is None or SEVERITIES.index(rule.severity) < least:
            continue
        for url in settings.webhooks:
            event_id = str(uuid.uuid4())
            body = json.dumps(
                event(event_id, rule, call_id, payload, result, runtime), ensure_ascii=False
            )
            runtime.rule_book.queue_alert(event_id, url, body)
            queued += 1
    if queued:
        deliver_in_background(runtime)
    return queued


def event(
    event_id: str,
    rule: Rule,
    call_id: str,
    payload: dict[str, Any],
    result: RuleResult,
    runtime: Runtime,
) -> dict[str, Any]:
    """What a receiver gets: the rule, the call (id, date, metadata) and the evidence."""
    fields = runtime.settings.ingest.metadata_fields
    return {
        "event": EVENT,
        "id": event_id,
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "rule": {"name": rule.name, "title": rule.title, "severity": rule.severity},
        "call": {
            "id": call_id,
            "date": payload.get("date"),
            "labels": payload.get("labels") or [],
            **{f: payload[f] for f in fields if f in payload},
        },
        "evidence": [
            {"turn": e.turn, "speaker": e.role, "start": e.start, "end": e.end,
             "text": e.text, "why": e.why}
            for e in result.evidence
        ],
    }  # fmt: skip


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver_due(runtime: Runtime, *, client: httpx.Client | None = None) -> dict[str, int]:
    """One attempt at every event that is due now; returns how many were sent and failed."""
    settings = runtime.settings.alerts
    book = runtime.rule_book
    secret = settings.secret.get_secret_value() if settings.secret else None
    counts = {"sent": 0, "failed": 0}
    own = client is None
    http = client or httpx.Client(timeout=settings.timeout, follow_redirects=False)
    try:
        for item in book.due_alerts(time.time()):
            body = item["body"].encode()
            headers = {"Content-Type": "application/json", "X-CallScope-Event-Id": item["id"],
                       "User-Agent": "CallScope-alerts"}  # fmt: skip
            if secret:
                headers["X-CallScope-Signature"] = signature(secret, body)
            error = None
            try:
                answer = http.post(item["url"], content=body, headers=headers)
                if answer.status_code >= 300:
                    error = f"HTTP {answer.status_code}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"[:300]
            if error is None:
                book.alert_tried(item["id"], sent=True, error=None, next_at=None)
                counts["sent"] += 1
                continue
            attempts = item["attempts"] + 1
            again = (
                time.time() + settings.backoff_s * 2 ** (attempts - 1)
                if attempts < settings.max_attempts
                else None
            )
            book.alert_tried(item["id"], sent=False, error=error, next_at=again)
            counts["failed"] += 1
            log.warning("alert %s to %s failed (%s)", item["id"], item["url"], error)
    finally:
        if own:
            http.close()
    return counts


_delivering: set[Path] = set()
_delivering_lock = threading.Lock()


def deliver_in_background(runtime: Runtime) -> bool:
    """Start the delivery thread of this state dir unless it runs: it sends what is due,
    sleeps until the next retry and ends when nothing is pending. False if it was running."""
    key = runtime.settings.paths.state_dir
    with _delivering_lock:
        if key in _delivering:
            return False
        _delivering.add(key)

    def work() -> None:
        try:
            while True:
                deliver_due(runtime)
                upcoming = runtime.rule_book.next_alert_at()
                if upcoming is None:
                    return
                time.sleep(min(MAX_SLEEP, max(0.05, upcoming - time.time())))
        except Exception:  # noqa: BLE001 - a closed store at shutdown; the log keeps the rest
            log.exception("alert delivery stopped; pending events stay in the log")
        finally:
            with _delivering_lock:
                _delivering.discard(key)

    threading.Thread(target=work, name="callscope-alerts", daemon=True).start()
    return True


def resume_alerts(runtime: Runtime) -> bool:
    """Send what an earlier process left pending (the server calls this as it starts)."""
    try:
        pending = runtime.rule_book.next_alert_at() is not None
    except Exception:  # noqa: BLE001 - a damaged state file: status and doctor say why
        log.exception("could not read the alert log")
        return False
    return pending and deliver_in_background(runtime)


def alert_log(runtime: Runtime, limit: int = 100) -> list[dict[str, Any]]:
    """The delivery log, newest first (the event as sent, its state, attempts, last error)."""
    out = []
    for row in runtime.rule_book.alerts(limit):
        event_data = json.loads(row.pop("body"))
        out.append({**row, "rule": event_data["rule"]["name"], "call_id": event_data["call"]["id"]})
    return out
