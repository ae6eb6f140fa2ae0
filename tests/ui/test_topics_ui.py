"""The Topics tab's logic without a browser, over the real components (MiniLM, Qdrant Edge):
the texts in both languages, discovering, a topic's calls, and turning it into a label; and the
tab is mounted with its elements."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import gradio as gr
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.core.config import Settings, load_settings
from app.runtime import Runtime
from app.services import topics
from tests.topiccalls import PLANTED, sources
from ui.context import UIContext
from ui.i18n import t
from ui.topics import (
    discover,
    load,
    preview,
    promote,
    run_choices,
    run_when,
    table_rows,
    topic_markdown,
)


@pytest.fixture
def ctx(make_settings: Callable[..., Settings], embedder) -> Iterator[UIContext]:
    settings = make_settings()
    with Runtime(settings, embedder=embedder) as runtime:
        assert {r.status for r in runtime.pipeline().run(sources())} == {"indexed"}
        app = FastAPI()
        app.state.runtime = runtime
        yield UIContext(app, settings)


def test_discover_read_a_topic_and_label_it(ctx: UIContext) -> None:
    text, table, run = load(ctx, None, "zh-CN")
    assert run is None and text == t("topics.no_runs", "zh-CN") and table.value["data"] == []

    made = discover(ctx)
    text, table, run = load(ctx, made["run_id"], "en")
    when = run_when(made["run_id"])
    assert run == made and f"**Run of {when}**" in text and "14 calls" in text
    assert t("topics.no_llm", "en") in text
    zh = load(ctx, made["run_id"], "zh-CN")[0]
    assert t("topics.no_llm", "zh-CN") in zh and f"**{when} 的发现**" in zh
    # Staff see when a run ran and what it found, not how it clustered.
    assert "agglomerative" not in text and "agglomerative" not in zh
    assert table.headers == ["#", "Calls", "Name", "Distinctive terms", "Suggested label"]
    [(label, value)] = run_choices(ctx)
    assert value == made["run_id"] and label.startswith(when) and "agglomerative" not in label
    assert f"{len(made['topics'])} topics" in label
    assert f"{len(made['topics'])} 个话题" in run_choices(ctx, "zh-CN")[0][0]
    [row] = [r for r in table_rows(run) if "thermostat" in r[3]]
    number, size, name, terms, suggested = row
    # No LLM: the name is the topic's best terms, never empty.
    assert size == 6 and name.startswith("thermostat · ") and suggested == "thermostat_firmware"

    shown = topic_markdown(topics.show(ctx.runtime, number, made["run_id"]), "en")
    assert shown.startswith(f"### Topic {number}: thermostat") and "★ `t" in shown
    assert "firmware update" in shown and t("topics.star", "en") in shown
    assert "话题" in topic_markdown(topics.show(ctx.runtime, number), "zh-CN")

    # Asked first: what would change, and nothing changed yet.
    question, pending = preview(ctx, made["run_id"], number, "smart_home", "t5, ", "en")
    assert question.startswith(f"Label **5** calls of topic {number} **smart_home**?")
    assert "`t0`" in question and "`t5`" not in question and pending is not None
    assert ctx.runtime.ledger.get("t0").labels == []
    zh, _ = preview(ctx, made["run_id"], number, "smart_home", "t5", "zh-CN")
    assert zh.startswith(f"将话题 {number} 的 **5** 通通话设定标签 **smart_home**？")
    message = promote(ctx, pending, "en")
    assert message.startswith(f"Labeled 5 calls of topic {number} **smart_home**")
    assert ctx.runtime.ledger.get("t0").labels == ["smart_home"]
    assert ctx.runtime.ledger.get("t5").labels == []
    [after] = [r for r in table_rows(topics.load_run(ctx.settings)) if r[0] == number]
    assert after[4] == "thermostat_firmware → smart_home"
    # Shown again, each call carries its label now.
    assert "[smart_home]" in topic_markdown(topics.show(ctx.runtime, number), "en")


def test_labeling_needs_a_topic_and_a_usable_label(ctx: UIContext) -> None:
    with pytest.raises(gr.Error, match="Select a topic"):
        preview(ctx, None, None, "x", "", "en")
    with pytest.raises(gr.Error, match="Select a topic"):
        promote(ctx, None, "en")
    made = discover(ctx)
    with pytest.raises(gr.Error, match="not a label"):
        preview(ctx, made["run_id"], 1, "unknown", "", "en")
    with pytest.raises(gr.Error, match="not calls of topic 1"):
        preview(ctx, made["run_id"], 1, "x", "nobody", "en")
    assert all(ctx.runtime.ledger.get(c).labels == [] for c in PLANTED)


def test_runs_that_found_nothing_are_not_listed(ctx: UIContext) -> None:
    kept = discover(ctx)
    # No call was classified unknown: this run has an empty pool and finds nothing.
    empty = topics.discover(ctx.runtime, scope="unknown")
    assert empty["topics"] == [] and empty["pool"] == 0
    assert [value for _, value in run_choices(ctx)] == [kept["run_id"]]
    # Shown when asked for (it is still stored), saying why it is empty.
    assert t("topics.empty_pool", "zh-CN") in load(ctx, empty["run_id"], "zh-CN")[0]


def test_the_topics_tab_is_mounted(tmp_path) -> None:
    from ui import mount_ui

    settings = load_settings(paths={"state_dir": tmp_path}, api={"dev_mode": True})
    with TestClient(mount_ui(FastAPI(), settings)) as client:
        body = client.get("/ui/config").text
    for elem_id in (
        "tab-topics",
        "topics-discover",
        "topics-table",
        "topics-label",
        "topics-apply",
    ):
        assert f'"elem_id":"{elem_id}"' in body, elem_id
