"""Webhook alerts for severe quality-inspection matches: a signed JSON event per new match of a
severe rule, posted in the background (indexing never waits), retried with backoff after a
failure, kept as failed after the last attempt, never raised twice for a match that holds."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.runtime import Runtime
from app.services import alerts, inspection
from app.services.labels import relabel_call
from tests.app.services.test_inspection import CALLS
from tests.textcalls import text_sources

SECRET = "shared-secret"
RULES = """
rules:
  - name: forbidden
    title: 服务禁语
    severity: critical
    when: {said: {speaker: agent, regex: "不关我的事|shut up"}}
  - name: no_greeting
    severity: low
    when: {not: {said: {speaker: agent, within: {first_turns: 1}, any: [您好, hello]}}}
"""


class Receiver:
    """A local webhook receiver answering the scripted statuses (then 200)."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.got: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.got.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver([])
    yield r
    r.close()


def _runtime(make_settings, embedder, url: str, **alert_settings) -> Runtime:
    settings = make_settings(
        alerts={"webhooks": [url], "secret": SECRET, "backoff_s": 0.05, **alert_settings}
    )
    runtime = Runtime(settings, embedder=embedder)
    assert {r.status for r in runtime.pipeline().run(text_sources(CALLS))} == {"indexed"}
    return runtime


def _settled(runtime: Runtime, timeout: float = 20.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while runtime.rule_book.next_alert_at() is not None:
        assert time.monotonic() < deadline, runtime.rule_book.alerts()
        time.sleep(0.05)
    return alerts.alert_log(runtime)


def test_a_severe_new_match_is_posted_signed_once(make_settings, embedder, receiver) -> None:
    with _runtime(make_settings, embedder, receiver.url) as runtime:
        inspection.save_rules(runtime, RULES, by="lead")
        log = _settled(runtime)
        # Only the critical rule alerts (min_severity high); the low one does not.
        assert [(e["rule"], e["call_id"], e["state"]) for e in log] == [
            ("forbidden", "zh-bad", "sent")
        ]
        [(headers, body)] = receiver.got
        expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-CallScope-Signature"] == f"sha256={expected}"
        event = json.loads(body)
        assert headers["X-CallScope-Event-Id"] == event["id"] == log[0]["id"]
        assert event["event"] == "inspection.match"
        assert event["rule"] == {"name": "forbidden", "title": "服务禁语", "severity": "critical"}
        assert event["call"]["id"] == "zh-bad" and event["call"]["labels"] == ["complaint"]
        assert event["evidence"][0]["text"].startswith("不关我的事")
        # Checked again (relabeled) and still matching: not new, no second alert.
        relabel_call(runtime, "zh-bad", labels=["balance"], source="test")
        time.sleep(0.3)
        assert len(receiver.got) == 1 and len(alerts.alert_log(runtime)) == 1


def test_a_failed_delivery_is_retried_then_kept_as_failed(make_settings, embedder) -> None:
    flaky = Receiver([500, 503])  # fails twice, then takes it
    down = Receiver([500] * 10)
    try:
        settings = {"max_attempts": 3}
        with _runtime(make_settings, embedder, flaky.url, **settings) as runtime:
            inspection.save_rules(runtime, RULES, by="lead")
            [entry] = _settled(runtime)
            assert (entry["state"], entry["attempts"], entry["last_error"]) == ("sent", 3, None)
            assert len(flaky.got) == 3
            assert len({h["X-CallScope-Event-Id"] for h, _ in flaky.got}) == 1  # one event
            # The receiver goes down: after the last attempt the event stays, as failed.
            runtime.settings.alerts = runtime.settings.alerts.model_copy(
                update={"webhooks": [down.url]}
            )
            inspection.delete_rule(runtime, "forbidden", by="lead")
            inspection.restore_rule(runtime, "forbidden", 1, by="lead")  # a new match again
            failed = [e for e in _settled(runtime) if e["url"] == down.url]
            assert [(e["state"], e["attempts"], e["last_error"]) for e in failed] == [
                ("failed", 3, "HTTP 500")
            ]
            assert len(down.got) == 3
    finally:
        flaky.close()
        down.close()


def test_no_webhook_no_alert_and_bad_urls_are_refused(make_settings, embedder) -> None:
    from app.core.errors import ConfigError

    with Runtime(make_settings(), embedder=embedder) as runtime:
        runtime.pipeline().run(text_sources(CALLS))
        inspection.save_rules(runtime, RULES, by="lead")
        assert runtime.rule_book.alerts() == []
    with pytest.raises(ConfigError, match="use an http:// or https:// URL"):
        make_settings(alerts={"webhooks": ["ftp://x"]})


def test_the_delivery_log_from_the_cli_and_the_api(
    make_settings, embedder, receiver, monkeypatch
) -> None:
    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from app.api.app import create_app
    from app.cli.main import app as cli

    with _runtime(make_settings, embedder, receiver.url) as runtime:
        inspection.save_rules(runtime, RULES, by="lead")
        _settled(runtime)
        settings = runtime.settings
        runtime.settings.api = runtime.settings.api.model_copy(update={"dev_mode": True})
        with TestClient(create_app(runtime=runtime)) as client:
            [entry] = client.get("/api/rules/alerts").json()
            assert (entry["rule"], entry["state"]) == ("forbidden", "sent")
    monkeypatch.setenv("PATHS__STATE_DIR", str(settings.paths.state_dir))
    monkeypatch.setenv("PATHS__MODELS_DIR", str(settings.paths.models))
    monkeypatch.setenv("COLUMNS", "200")
    shown = CliRunner().invoke(cli, ["rules", "alerts", "--send"])
    assert shown.exit_code == 0, shown.output
    assert "sent 0, failed 0" in shown.output and "forbidden" in shown.output
