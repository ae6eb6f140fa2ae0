"""The UI's logic without a browser: access rules, texts in both languages, citation -> audio
position, filters, suspects, and what each access mode mounts."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.core.config import ApiSettings, load_settings
from app.core.errors import InputError
from app.services.classify import PASTED_ID, input_sources
from ingest.ledger import LedgerRow
from retrieval.qa.engine import Answer, Citation
from retrieval.search import Passage
from ui.ask import _pairs, answer_markdown
from ui.auth import access_mode, login_check
from ui.calls import call_filter, check_dates, transcript_markdown
from ui.classify import summary_markdown
from ui.context import audio_source
from ui.i18n import EN, LANGUAGES, ZH, language, t

UI = Path(__file__).parents[2] / "ui"


def _api(**kw: object) -> ApiSettings:
    return ApiSettings(**kw)  # type: ignore[arg-type]


def test_access_follows_the_api_rule_and_fails_closed() -> None:
    assert access_mode(_api(api_keys=["k"])) == "keys"
    assert access_mode(_api(api_keys=["k"], dev_mode=True)) == "keys"  # a key is never ignored
    assert access_mode(_api(dev_mode=True)) == "open"
    assert access_mode(_api()) == "closed"
    assert access_mode(_api(api_keys=[""])) == "closed"


def test_login_password_must_be_an_api_key() -> None:
    check = login_check(_api(api_keys=["first-key", "second-key"]))
    assert check("anyone", "second-key")
    assert not check("anyone", "second-ke")
    assert not check("anyone", "")
    assert not login_check(_api())("anyone", "")


def test_every_text_exists_in_english_and_chinese() -> None:
    assert set(EN) == set(ZH)
    assert LANGUAGES["zh-TW"] is ZH
    assert all(ZH[k].strip() for k in ZH)
    used = set()
    for source in UI.glob("*.py"):
        text = source.read_text(encoding="utf-8")
        used |= set(re.findall(r"""(?:I18N|\bt)\(\s*["']([a-z_]+\.[a-z_.]+)["']""", text))
        used |= set(re.findall(r'"((?:col|decided|state)\.[a-z_]+)"', text))
    used |= {f"decided.{d}" for d in ("knn", "llm", "abstain")}
    used |= {f"state.{s}" for s in ("pending", "transcribed", "indexed", "failed")}
    assert used and not (used - set(EN)), sorted(used - set(EN))


def test_language_comes_from_the_first_preference() -> None:
    assert language("zh-CN,zh;q=0.9,en;q=0.8") == "zh-CN"
    assert language("zh-TW") == "zh-CN"
    assert language("en-US,zh;q=0.5") == "en"
    assert language(None) == "en"
    assert t("tab.ask", "zh-CN") == "提问" and t("tab.ask", "fr") == "Ask"


def _row(kind: str, origin: str) -> LedgerRow:
    return LedgerRow(
        "c1", "calls", kind, origin, "h", "indexed", None, [], [], 1, 11.0, "en", None, 0.0
    )


def test_citation_plays_the_recording_from_the_cited_second(tmp_path: Path) -> None:
    audio = tmp_path / "c1.flac"
    audio.write_bytes(b"x")
    assert audio_source(_row("audio", str(audio)), 42.5) == (audio, 42.5)
    assert audio_source(_row("audio", str(audio)), None) == (audio, 0.0)
    assert audio_source(_row("audio", str(audio)), -3) == (audio, 0.0)
    assert audio_source(_row("audio", str(tmp_path / "gone.flac")), 5) == (None, 5.0)
    assert audio_source(_row("text", "labels.csv:3"), 5) == (None, 5.0)
    assert audio_source(None, 5) == (None, 5.0)
    # A recording imported from a labeled table: its origin is the table row.
    imported = replace(_row("audio", "calls.jsonl:7"), audio=str(audio))
    assert audio_source(imported, 3) == (audio, 3.0)


def test_playing_a_recording_allows_that_file_only(tmp_path: Path) -> None:
    from ui.context import UIContext

    audio = tmp_path / "c1.flac"
    audio.write_bytes(b"x")
    (tmp_path / ".env").write_text("LLM__API_KEY=secret")

    class Ledger:
        def get(self, call_id: str) -> LedgerRow:
            return replace(_row("audio", "calls.jsonl:7"), audio=str(audio))

    class Blocks:
        allowed_paths: list[str] = []

    app = FastAPI()
    app.state.runtime = type("R", (), {"ledger": Ledger()})()
    ctx = UIContext(app, load_settings(paths={"state_dir": tmp_path / "state"}), Blocks())
    assert ctx.playable("c1", 4) == (str(audio.resolve()), 4.0)
    # Never the folder: the browser could fetch .env or the state dir from it.
    assert ctx.blocks.allowed_paths == [str(audio.resolve())]


def _passage(call_id: str, start: float, text: str) -> Passage:
    return Passage(call_id, 0, text, start, start + 8, ["customer"], ["refund"], 1.0)


def test_offline_answer_lists_the_evidence_by_call_with_the_generation_off_note() -> None:
    ps = [_passage("c1", 10, "Customer: I want my money back."), _passage("c2", 70, "Refund!")]
    answer = Answer("q", "raw", ps, [Citation(i + 1, p) for i, p in enumerate(ps)])
    md = answer_markdown(answer, "en")
    assert md.startswith("_Generation is off")
    assert "**Call c1** (refund)" in md and "**[2]** 01:10–01:18 (customer): Refund!" in md
    assert "未配置大模型" in answer_markdown(answer, "zh-CN")
    nothing = Answer("q", "Not found in the calls.", [], not_found=True)
    assert answer_markdown(nothing, "en") == "Not found in the calls."


def test_follow_up_questions_get_the_earlier_turns() -> None:
    history = [
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "q2"},
    ]
    assert _pairs(history) == [("q1", "a1")]


def test_call_filters() -> None:
    assert check_dates(" 2026-10-01 ", "") == ("2026-10-01", None)
    with pytest.raises(InputError, match="date to '10/31'"):
        check_dates("", "10/31")
    assert call_filter("refund", "agent", "2026-10-01", None).spec() == {
        "labels": "refund",
        "speakers": "agent",
        "date": {"gte": "2026-10-01"},
    }
    assert call_filter(None, None, None, None).spec() == {}


def test_transcript_shows_times_speakers_and_marks_the_cited_turn() -> None:
    turns = [
        {"speaker": "agent", "text": "Hello", "start": 0.0, "end": 8.0},
        {"speaker": "customer", "text": "Refund please", "start": 10.0, "end": 18.0},
    ]
    md = transcript_markdown(turns, focus=12.0)
    assert "`[00:00]` **agent**: Hello" in md
    assert "▶ `[00:10]` **customer**: Refund please" in md
    # A call imported as plain text has no times: none are made up.
    untimed = [{"speaker": "agent", "text": "Hello", "start": None, "end": None}]
    assert transcript_markdown(untimed) == "**agent**: Hello"
    passage = Passage("c9", 0, "Agent: Hello", None, None, ["agent"], ["refund"], 0.9)
    md = answer_markdown(Answer("q", "", [passage], [Citation(1, passage)]), "en")
    # The speaker once, then the words (never "(agent): Agent: Hello").
    assert "**[1]** (agent): Hello" in md and "Agent: Hello" not in md and "--:--" not in md


def test_an_unknown_answer_shows_the_closest_labels_in_both_languages() -> None:
    from app.services.classify import CallResult
    from retrieval.classify.knn import Classification

    unknown = Classification(
        "unknown", 0.12, [], {}, [], "abstain", ["low_confidence"],
        candidates=[("refund", 0.12), ("delivery", 0.05)],
    )  # fmt: skip
    en = summary_markdown(CallResult("c1", "pasted", classification=unknown), "en")
    assert "`unknown`" in en and "Closest labels: `refund` (0.12), `delivery` (0.05)" in en
    zh = summary_markdown(CallResult("c1", "pasted", classification=unknown), "zh-CN")
    assert "最接近的标签" in zh and "`refund` (0.12)" in zh
    known = replace(unknown, label="refund", labels=["refund"], decided_by="knn", flags=[])
    assert "Closest" not in summary_markdown(CallResult("c1", "x", classification=known), "en")


def test_a_classification_is_said_in_chinese_names_and_data_kept() -> None:
    """The path that decided, the flags, the neighbours' channel, the pasted transcript's made-up
    id and its speakers in Chinese; labels and ids as they are; English as before."""
    from app.services.classify import CallResult
    from retrieval.classify.knn import Classification
    from retrieval.classify.vote import Neighbour
    from ui.classify import batch_rows, neighbour_rows, result_row

    near = [Neighbour("d1", ["refund"], 0.9, "bm25", weight=0.6)]
    found = Classification("refund", 0.4, ["refund"], {}, near, "abstain", ["low_confidence"])
    pasted = CallResult(PASTED_ID, "pasted", found, text="Agent: 您好\nCustomer: 我要退款")
    assert result_row(pasted, "zh-CN")[:5] == ["粘贴的转写文本", "refund", 0.4, "弃权", "refund"]
    assert result_row(pasted, "zh-CN")[5] == "置信度低"
    assert result_row(pasted)[:6] == [
        PASTED_ID,
        "refund",
        0.4,
        "abstain",
        "refund",
        "low_confidence",
    ]
    assert neighbour_rows(pasted, "zh-CN") == [["d1", "refund", 0.6, "关键词（BM25）"]]
    zh = summary_markdown(pasted, "zh-CN")
    assert zh.startswith("### 粘贴的转写文本: `refund`") and "**弃权**" in zh
    assert "> 坐席：您好" in zh and "> 客户：我要退款" in zh
    assert "> Agent: 您好" in summary_markdown(pasted, "en")
    row = {"call_id": "c2", "decided_by": "knn", "flags": "llm_error: timeout", "error": ""}
    assert batch_rows([row], "zh-CN")[0][3:6] == ["近邻投票", "", "大模型出错: timeout"]
    failed = {"call_id": "c3", "error": "no speech or text to classify"}
    assert batch_rows([failed], "zh-CN")[0][6] == "没有可分类的语音或文字"


def test_classify_inputs_pasted_text_and_refused_files(tmp_path: Path) -> None:
    bad = tmp_path / "notes.exe"
    bad.write_bytes(b"MZ")
    sources, failed = input_sources([bad], "Agent: hi\nCustomer: my parcel is late")
    assert [s.call_id for s in sources] == [PASTED_ID]
    assert [t.speaker for t in sources[0].transcript.turns] == ["agent", "customer"]
    assert failed[0].call_id == "notes" and "unsupported" in (failed[0].error or "")


@pytest.mark.parametrize("mode", ["keys", "open", "closed"])
def test_mounted_ui_is_protected_like_the_api(mode: str, tmp_path: Path) -> None:
    from ui import mount_ui

    api = {"keys": {"api_keys": ["k1"]}, "open": {"dev_mode": True}, "closed": {}}[mode]
    settings = load_settings(paths={"state_dir": tmp_path}, api=api)
    app = mount_ui(FastAPI(), settings)
    with TestClient(app) as client:
        config = client.get("/ui/config")
        if mode == "keys":
            assert config.status_code == 401
            assert client.get("/ui/gradio_api/info").status_code == 401
            assert (
                client.post("/ui/login", data={"username": "a", "password": "no"}).status_code
                == 400
            )
            assert (
                client.post("/ui/login", data={"username": "a", "password": "k1"}).status_code
                == 200
            )
            config = client.get("/ui/config")
        assert config.status_code == 200
        body = config.text
        assert ("tab-ask" in body) is (mode != "closed")
        assert ('"elem_id":"closed"' in body) is (mode == "closed")
        assert '"analytics_enabled":false' in body


def test_job_kinds_and_states_are_said_in_the_pages_language() -> None:
    from types import SimpleNamespace

    from ui.i18n import job_word
    from ui.status import job_rows

    job = SimpleNamespace(
        id="j1",
        kind="label_run",
        state="running",
        done=3,
        total=10,
        error=None,
        message="scoring",
        created_at=0.0,
    )
    store = SimpleNamespace(list=lambda limit: (1, [job]))
    ctx = SimpleNamespace(jobs=SimpleNamespace(store=store))
    rows, running = job_rows(ctx, "zh-CN")  # type: ignore[arg-type]
    assert rows[0][1:4] == ["标签检查", "进行中", "3/10"] and running
    rows, _ = job_rows(ctx, "en")  # type: ignore[arg-type]
    assert rows[0][1:3] == ["label check", "running"]
    # A kind or state without words of its own is shown as it is, never as a raw key.
    assert job_word("kind", "reindex", "zh-CN") == "reindex"
    assert job_word("state", "done", "zh-CN") == "已完成"


def test_speakers_are_named_in_the_pages_language() -> None:
    from ui.i18n import speaker_words

    turns = [{"speaker": "agent", "text": "您好", "start": 0.0, "end": 1.0}]
    assert transcript_markdown(turns, lang="zh-CN") == "`[00:00]` **坐席**: 您好"
    assert transcript_markdown(turns) == "`[00:00]` **agent**: 您好"
    assert speaker_words(["agent", "customer"], "zh-CN") == "坐席、客户"
    assert speaker_words(["customer"], "en") == "customer"
    # A name a transcript gave (not a role) is shown as it is.
    assert speaker_words("Li Na", "zh-CN") == "Li Na"


def test_the_calls_table_names_speakers_in_the_pages_language() -> None:
    from ui.calls import _shown

    row = {"speakers": "agent, customer", "text": "hello"}
    assert _shown(row, "speakers", "zh-CN") == "坐席、客户"
    assert _shown(row, "speakers", "en") == "agent, customer"
    assert _shown({"speakers": ""}, "speakers", "zh-CN") == ""
