"""The classify service with the real embedder, Qdrant Edge and whisper: a call never votes for
itself (by id or by content), inputs come back with the text they were classified from, stored
calls go in one pass, neighbours' weights are one scale, and a small batch shows progress."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.core.config import load_settings
from app.core.models import CallSource, Transcript, Turn
from app.core.text import call_text
from app.runtime import Runtime
from app.services.batch_run import run_batch
from app.services.classify import PASTED_ID, classify_calls, classify_inputs, classify_stored
from tests.app.conftest import AUTH, CALLS
from tests.conftest import DATA
from tests.textcalls import text_sources
from tests.ui.corpus import MISLABELED, calls


@pytest.fixture(scope="module")
def stored(
    tmp_path_factory: pytest.TempPathFactory, models_dir: Path, embedder
) -> Iterator[Runtime]:
    """The UI corpus (16 labeled text calls over three labels) in a store of this module."""
    state = tmp_path_factory.mktemp("classify-service") / "state"
    settings = load_settings(paths={"state_dir": state, "models_dir": models_dir})
    with Runtime(settings, embedder=embedder) as runtime:
        assert {r.status for r in runtime.pipeline().run(text_sources(calls()))} == {"indexed"}
        yield runtime


def _text(call_id: str) -> str:
    return call_text(text_sources({call_id: calls()[call_id]})[0].transcript or Transcript([]))


def test_a_stored_call_uploaded_again_under_another_name_does_not_vote_for_itself(
    stored: Runtime, tmp_path: Path
) -> None:
    """Issue 23: the re-uploaded call was its own nearest neighbour (cosine 1, confidence
    0.99). Its words under another file name are that call: it does not vote, and the text it
    was classified from comes back with the result."""
    upload = tmp_path / "again.txt"
    upload.write_text(_text("d0"), encoding="utf-8")
    [result] = classify_inputs(stored, [upload], source="test")
    found = result.classification
    assert result.call_id == "again" and found is not None
    assert "d0" not in {n.call_id for n in found.neighbours}
    assert max(n.score for n in found.neighbours if n.via == "dense") < 0.99
    assert found.provenance["not_voting"] == ["d0"]
    assert found.label == "delivery_delay"  # the other delivery calls still say so
    assert result.text == _text("d0")


def test_inputs_come_back_with_the_text_they_were_classified_from(
    stored: Runtime, tmp_path: Path
) -> None:
    """A recording as whisper heard it, a pasted transcript as parsed, a refused file failed
    first: what the Classify tab shows without a transcriber of its own."""
    bad = tmp_path / "notes.exe"
    bad.write_bytes(b"MZ")
    pasted = "Agent: hello\nCustomer: I cannot log in, my password is refused"
    counted: list[int] = []
    done = classify_inputs(
        stored,
        [bad, DATA / "jfk.flac"],
        pasted,
        source="test",
        on_count=counted.append,
    )
    assert counted == [3]
    assert [r.call_id for r in done] == ["notes", "jfk", PASTED_ID]
    assert done[0].error and "unsupported" in done[0].error
    assert "country" in done[1].text.lower()  # really transcribed
    assert done[2].text == "Agent: hello\nCustomer: I cannot log in, my password is refused"
    assert done[2].classification is not None and done[2].classification.label == "account"


def test_stored_calls_go_in_one_pass_and_never_vote_for_themselves(
    stored: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    passes: list[int] = []
    real = stored.classifier.classify_views

    def counting(views, **kwargs):  # type: ignore[no-untyped-def]
        passes.append(len(views))
        return real(views, **kwargs)

    monkeypatch.setattr(stored.classifier, "classify_views", counting)
    results = classify_calls(stored, ["d1", MISLABELED, "nope"], source="test")
    assert passes == [2]
    assert [r.call_id for r in results] == ["d1", MISLABELED, "nope"]
    assert results[2].error == "no transcribed call 'nope'"
    for result in results[:2]:
        assert result.classification is not None and result.text.startswith("Agent:")
        assert result.call_id not in {n.call_id for n in result.classification.neighbours}
    # The call view's button: the same path; an unknown id is a clear error.
    assert classify_stored(stored, "d1", source="ui").label == "delivery_delay"
    with pytest.raises(Exception, match="no transcribed call 'nope'"):
        classify_stored(stored, "nope")


def test_a_small_batch_reports_progress_while_it_runs(stored: Runtime, tmp_path: Path) -> None:
    """Issue 23: a batch of 12 showed 0/12 until the end (one step of 32 calls); a small run is
    cut into steps so its progress moves."""
    sources = [
        CallSource(
            f"b{i}", "text", f"b{i}.txt", transcript=Transcript([Turn("customer", f"parcel {i}")])
        )
        for i in range(8)
    ]
    seen: list[int] = []
    summary = run_batch(
        stored,
        sources,
        [],
        folder=tmp_path / "run",
        source="test",
        progress=lambda done, total, message: seen.append(done),
    )
    assert summary["n"] == 8 and seen[0] == 0 and seen[-1] == 8
    assert [d for d in seen if 0 < d < 8], seen


def test_api_neighbours_carry_their_share_of_the_vote(client: TestClient) -> None:
    """One scale for the neighbours: ``weight`` (0-1, summing to 1) beside the raw ``score``
    (a cosine, or BM25 with no bound); a stored call's own words do not vote for it."""
    own = "\n".join(f"{s.capitalize()}: {t}" for s, t in CALLS["c-courier"][2])
    r = client.post("/api/classify", json={"transcript": own}, headers=AUTH)
    assert r.status_code == 200, r.text
    neighbours = r.json()["neighbours"]
    assert "c-courier" not in {n["call_id"] for n in neighbours}
    assert all(0 <= n["weight"] <= 1 for n in neighbours)
    assert sum(n["weight"] for n in neighbours) == pytest.approx(1, abs=1e-3)
    assert r.json()["provenance"]["not_voting"] == ["c-courier"]
