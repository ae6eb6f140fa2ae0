"""The Classify tab in a real browser over the real app (see conftest), in English and Chinese:
a stored call uploaded again under another name is classified by the other calls (it used to
be its own nearest neighbour, score 1), the neighbours' column is one scale (each one's share of
the vote), the top candidate labels are shown for every answer, every result column has its
own heading, and *Index and classify* shows its progress while it runs."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from playwright.sync_api import expect

from app.core.text import call_text
from tests.audiofiles import write_audio
from tests.textcalls import text_sources
from tests.ui.conftest import DATA, KEY, Served, open_tab, screenshot, upload
from tests.ui.corpus import calls
from ui.classify import RESULT_COLUMNS
from ui.i18n import t


def _classify_tab(page: Any, lang: str) -> None:
    open_tab(page, t("tab.classify", lang))


def _column(table: Any, n: int) -> list[str]:
    """The texts of column ``n`` of a results table, row by row (the header row left out)."""
    rows = table.get_by_role("row")
    cells = [rows.nth(i).get_by_role("gridcell") for i in range(1, rows.count())]
    return [c.nth(n).inner_text().strip() for c in cells if c.count() > n]


@pytest.mark.parametrize(
    ("locale", "lang", "call_id"), [("en-US", "en", "d1"), ("zh-CN", "zh-CN", "d2")]
)
def test_a_stored_call_uploaded_again_is_classified_by_the_others(
    open_ui: Any, tmp_path: Path, locale: str, lang: str, call_id: str
) -> None:
    [source] = text_sources({call_id: calls()[call_id]})
    assert source.transcript is not None
    again = tmp_path / f"again-{call_id}.txt"
    again.write_text(call_text(source.transcript), encoding="utf-8")
    page = open_ui(locale)
    _classify_tab(page, lang)
    upload(page, again)
    page.locator("#classify-run").click()
    summary = page.locator("#classify-summary")
    # The top candidates are shown for a known label too (not only for "unknown").
    summary.get_by_text(t("classify.candidates", lang)).wait_for(timeout=120_000)
    expect(summary).to_contain_text(f"again-{call_id}: delivery_delay")
    neighbours = page.locator("#classify-neighbours")
    expect(neighbours.get_by_role("gridcell").first).to_be_visible()
    ids = _column(neighbours, 0)
    assert ids and call_id not in ids, ids
    shares = [float(v) for v in _column(neighbours, 2)]
    assert all(0 <= s <= 1 for s in shares) and sum(shares) == pytest.approx(1, abs=0.02)
    heads = page.locator("#classify-results").get_by_role("columnheader")
    texts = [heads.nth(i).inner_text().strip() for i in range(heads.count())]
    assert [t(c, lang) for c in RESULT_COLUMNS] == texts
    assert len(set(texts)) == len(texts), texts  # zh: 标签 and 全部标签, no longer 标签 twice
    screenshot(page, f"classify-again-{lang}")


def _recordings(folder: Path, gains: list[float]) -> list[Path]:
    """Short Chinese recordings that differ in their bytes (a gain each), so none comes from
    the transcript cache: each is transcribed while the batch runs."""
    import av

    with av.open(str(DATA / "aishell-BAC009S0724W0121.wav")) as f:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=16_000)
        blocks = [
            r.to_ndarray().reshape(-1) for fr in f.decode(audio=0) for r in resampler.resample(fr)
        ]
    samples = np.concatenate(blocks)
    return [
        write_audio(folder / f"voice-{i}-{int(g * 100)}.wav", samples * g)
        for i, g in enumerate(gains)
    ]


@pytest.mark.parametrize(
    ("locale", "lang", "gains"),
    [("en-US", "en", [0.9, 0.8, 0.7, 0.6]), ("zh-CN", "zh-CN", [0.95, 0.85, 0.75, 0.65])],
)
def test_index_and_classify_shows_its_progress_while_it_runs(
    open_ui: Any, served: Served, tmp_path: Path, locale: str, lang: str, gains: list[float]
) -> None:
    """Four recordings, each transcribed in its own step: the note says 1, 2, 3 of 4 calls done
    while the job runs, in the page's language (it said "running 0/4" until the end)."""
    files = _recordings(tmp_path, gains)
    page = open_ui(locale)
    _classify_tab(page, lang)
    upload(page, *files)
    page.locator("#classify-batch").click()
    summary = page.locator("#classify-summary")
    done = re.compile(re.escape(t("classify.batch_done", lang).split("{n}")[0].lstrip("# ")) + "4")
    notes: list[str] = []
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            text = summary.inner_text()
            if done.search(text):
                break
            if text and (not notes or notes[-1] != text):
                notes.append(text)
            time.sleep(0.1)
        assert done.search(summary.inner_text()), notes
        # In the page's language, and moving: 1, 2 or 3 of the 4 calls done before the end.
        steps = [t("classify.batch_running", lang).format(done=d, total=4) for d in (1, 2, 3)]
        moving = [n for n in notes if any(s.replace("**", "") in n for s in steps)]
        assert moving, notes
        screenshot(page, f"classify-batch-{lang}")
    finally:  # indexed with the others: removed again so the other tests see their corpus
        for path in files:
            httpx.delete(f"{served.base}/api/calls/{path.stem}", headers={"X-API-Key": KEY})


def test_index_and_classify_listens_for_the_hot_words_given_in_chinese(
    open_ui: Any, served: Served, tmp_path: Path
) -> None:
    """The Hot words box of a zh page: a list whisper cannot take is refused in Chinese and
    nothing runs; the terms given reach whisper (two invented names it spells wrong without)."""
    call = tmp_path / "hot-ui.flac"
    call.write_bytes((DATA / "hotwords_call.flac").read_bytes())
    page = open_ui("zh-CN")
    _classify_tab(page, "zh-CN")
    expect(page.locator("#classify-hotwords")).to_contain_text(t("classify.hotwords", "zh-CN"))
    upload(page, call)
    box = page.locator("#classify-hotwords textarea, #classify-hotwords input").first
    box.fill("x" * 41)
    page.locator("#classify-batch").click()
    toast = page.locator(".toast-body").filter(has_text="热词").first
    toast.wait_for()
    assert "最多 60 个" in toast.inner_text(), toast.inner_text()
    box.fill("Zentavo Plus，Quorvia")
    page.locator("#classify-batch").click()
    done = re.escape(t("classify.batch_done", "zh-CN").split("{n}")[0].lstrip("# ")) + "1"
    expect(page.locator("#classify-summary")).to_contain_text(re.compile(done), timeout=240_000)
    screenshot(page, "classify-hotwords-zh-CN")
    try:
        said = httpx.get(f"{served.base}/api/calls/hot-ui", headers={"X-API-Key": KEY}).json()
        words = " ".join(turn["text"] for turn in said["turns"])
        assert "Zentavo Plus" in words and "Quorvia" in words, words
    finally:  # indexed with the others: removed again so the other tests see their corpus
        httpx.delete(f"{served.base}/api/calls/hot-ui", headers={"X-API-Key": KEY})
