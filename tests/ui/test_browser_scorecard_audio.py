"""A call's scorecard in the browser plays its recording from the turn an answer rests on
(issue 26: the per-call scorecard view with evidence and audio seek): a real stereo recording
transcribed by faster-whisper, a rule on what the customer said, a scorecard question that
fails on it; a click on the answer's row starts the player at the customer's turn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from app.services import inspection, scorecards
from tests.ui.conftest import Served, fresh_runtime, open_tab, recordings, screenshot, served_app

RULES = """
rules:
  - name: upgrade_asked
    title: 客户要求升级套餐
    when: {said: {speaker: customer, any: [upgrade, 升级]}}
"""
CARD = """
scorecards:
  - name: plain
    title: 升级检查
    sections:
      - title: 需求
        questions:
          - {id: no_upgrade, text: 客户没有要求升级？, weight: 1, fails_on: upgrade_asked}
"""


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, models_dir: Path, embedder: Any
) -> Iterator[Served]:
    """The app over one recording: agent left, customer right (hotwords_call.flac)."""
    audio = recordings(tmp_path_factory, "hotwords_call.flac")
    with fresh_runtime(tmp_path_factory, models_dir, embedder, "scorecard-audio") as runtime:
        assert {r.status for r in runtime.pipeline().run(audio)} == {"indexed"}
        inspection.save_rules(runtime, RULES, by="setup")
        scorecards.save_scorecards(runtime, CARD, by="setup")
        with served_app(runtime, "scorecard-audio-server") as served:
            yield served


def test_an_answer_plays_the_recording_from_its_evidence(open_ui: Any, served: Served) -> None:
    [call_id] = [r.call_id for r in served.runtime.ledger.rows()]
    [card] = scorecards.call_cards(served.runtime, call_id)
    [answer] = card["answers"]
    assert answer["answer"] == "no" and answer["evidence"][0]["speaker"] == "customer"
    start = answer["evidence"][0]["start"]
    assert start >= 2.0  # the customer speaks after the agent's greeting

    page = open_ui("zh-CN")
    open_tab(page, "质检")
    pick = page.locator("#scorecards-pick input")
    pick.click()
    page.get_by_role("option", name="plain").first.click()
    page.locator("#scorecards-call textarea").fill(call_id)
    page.locator("#scorecards-open").click()
    answers = page.locator("#scorecards-answers")
    expect(answers).to_contain_text("客户没有要求升级", timeout=60_000)
    answers.get_by_role("gridcell").filter(has_text="客户没有要求升级").first.click()
    player = page.locator("#scorecards-audio")
    player.locator("button.play-pause-button").wait_for(timeout=60_000)
    second = f"0:{int(start):02d}"
    expect(player).to_contain_text(second, timeout=30_000)
    screenshot(page, "scorecard-audio-zh-CN")
