"""The label-quality report files: content, ordering, escaping and size limits."""

from __future__ import annotations

import csv
import json
import random
import time
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pytest

from eval.quality.issue import LabelIssue
from eval.quality.report import COLUMNS, write_reports

LABELS = ["billing", "refund", "delivery", "账户"]
FORMULA_ID = '=HYPERLINK("http://evil.example","click")'
SCRIPT = "<script>alert(1)</script> please refund me"
CHINESE = "我的快递三天了还没到，请帮我查一下"


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _parse(path: Path) -> _Tags:
    parser = _Tags()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser


def _issues() -> list[LabelIssue]:
    rng = random.Random(0)
    issues = []
    for row in range(20):
        given = LABELS[row % 4]
        score = round(rng.random(), 3) if row != 7 else 0.5
        issues.append(
            LabelIssue(
                row=row,
                call_id=f"call-{row}",
                given_label=given,
                suggested_label=LABELS[(row + 1) % 4] if score > 0.6 else given,
                score=score,
                reasons=["other_label_confident"] if score > 0.6 else [],
                flagged=score > 0.7,
                self_confidence=round(1 - score, 5),
                text=f"transcript {row}",
            )
        )
    issues[3].text = CHINESE
    issues[4].text = SCRIPT
    issues[5].call_id = FORMULA_ID
    issues[10].given_label = "@SUM(1+1)"
    issues[10].suggested_label = "-2+3"
    issues[6].score = 0.5  # ties with row 7: must keep row order
    issues[8].reasons = ["near_duplicate_conflict"]
    issues[8].conflicts = ["call-1", "call-2"]
    issues[9].llm_verdict, issues[9].llm_label, issues[9].llm_reason = "relabel", "refund", "asks"
    return issues


def _summary(labels: list[str], n: int, flagged: int) -> dict:
    k = len(labels)
    matrix = [[(10 if i == j else (i * 7 + j * 3) % 4) for j in range(k)] for i in range(k)]
    return {
        "run_id": 3,
        "source": "store:callscope",
        "n": n,
        "n_scored": n,
        "n_flagged": flagged,
        "health": 87.5,
        "per_label": {
            name: {
                "support": 5,
                "precision": 0.9,
                "recall": 0.5 + i / (2 * k),
                "f1": 0.6,
                "n_flagged": 1,
                "health": 80.0,
            }
            for i, name in enumerate(labels)
        },  # fmt: skip
        "confusion": {"labels": labels, "matrix": matrix},
        "labels_too_few": [labels[-1]],
        "imbalance": {"max_min_ratio": 3.2, "largest": labels[0], "smallest": labels[-1]},
        "methods": {"knn": {"accuracy": 0.8}, "combined": {"accuracy": 0.86, "f1": 0.8}},
        "adjudication": {"done": 0, "skipped": "no LLM configured"},
        "warnings": [f"label '{labels[-1]}' has only 1 example", "<b>not bold</b>"],
        "seconds": 12.3,
    }


@pytest.fixture
def written(tmp_path: Path) -> tuple[list[LabelIssue], dict, dict[str, Path]]:
    issues = _issues()
    summary = _summary(LABELS, len(issues), sum(i.flagged for i in issues))
    return issues, summary, write_reports(issues, summary, tmp_path / "a" / "b")


def test_paths(written, tmp_path: Path) -> None:
    _, _, paths = written
    assert set(paths) == {"csv", "xlsx", "html", "json"}
    assert all(p.is_file() and p.parent == tmp_path / "a" / "b" for p in paths.values())


def test_csv(written) -> None:
    issues, _, paths = written
    raw = paths["csv"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with paths["csv"].open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == COLUMNS
    assert rows[0] == (
        "row,id,given_label,given_labels,suggested_label,change,add_labels,remove_labels,score,"
        "reasons,flagged,self_confidence,llm_verdict,llm_label,llm_reason"
    ).split(",")
    body = rows[1:]
    assert len(body) == len(issues)
    assert sorted(int(r[0]) for r in body) == list(range(len(issues)))
    score = COLUMNS.index("score")
    scores = [float(r[score]) for r in body]
    assert scores == sorted(scores, reverse=True)
    ties = [int(r[0]) for r in body if r[score] == "0.5"]
    assert ties == [6, 7]
    by_row = {int(r[0]): dict(zip(COLUMNS, r, strict=True)) for r in body}
    # Never a formula when opened in a spreadsheet (the text keeps a leading apostrophe).
    assert by_row[5]["id"] == "'" + FORMULA_ID
    assert by_row[10]["given_label"] == "'@SUM(1+1)" and by_row[10]["suggested_label"] == "'-2+3"
    assert not [c for r in body for c in r if c.lstrip(" ")[:1] in ("=", "+", "-", "@")]
    assert by_row[8]["reasons"] == "near_duplicate_conflict (call-1, call-2)"
    assert by_row[9]["llm_verdict"] == "relabel" and by_row[9]["llm_reason"] == "asks"
    assert by_row[0]["llm_verdict"] == ""
    assert {r["flagged"] for r in by_row.values()} <= {"true", "false"}
    assert by_row[0]["flagged"] == ("true" if issues[0].flagged else "false")


def test_xlsx(written) -> None:
    issues, summary, paths = written
    wb = openpyxl.load_workbook(paths["xlsx"])
    assert wb.sheetnames == ["Label issues", "Per label"]
    ws = wb["Label issues"]
    header = [c.value for c in ws[1]]
    assert header == COLUMNS + ["text"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref
    assert ws.max_row == len(issues) + 1
    cells = {ws.cell(r, 1).value: r for r in range(2, ws.max_row + 1)}
    formula = ws.cell(cells[5], 2)
    assert formula.value == FORMULA_ID and formula.data_type == "s"
    assert ws.cell(cells[3], len(header)).value == CHINESE
    flagged = next(i.row for i in issues if i.flagged)
    assert ws.cell(cells[flagged], 1).fill.fgColor.rgb.endswith("FFF2CC")
    with zipfile.ZipFile(paths["xlsx"]) as z:
        assert "<f>" not in z.read("xl/worksheets/sheet1.xml").decode()
    per = wb["Per label"]
    assert [c.value for c in per[1]][:2] == ["label", "support"]
    assert [per.cell(r, 1).value for r in range(2, per.max_row + 1)] == list(summary["per_label"])


def test_html(written) -> None:
    _, _, paths = written
    page = paths["html"].read_text(encoding="utf-8")
    tags = _parse(paths["html"])
    names = [t for t, _ in tags.tags]
    assert "script" not in names and "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;not bold&lt;/b&gt;" in page
    imgs = [a["src"] for t, a in tags.tags if t == "img"]
    assert len(imgs) == 3
    assert all(src.startswith("data:image/png;base64,") for src in imgs)
    assert page.count('<img src="data:image/png;base64,') == 3
    assert ("meta", {"charset": "utf-8"}) in tags.tags
    assert CHINESE in page and "账户" in page
    assert "http" not in page.replace("http://evil.example", "")  # nothing fetched
    assert "no LLM configured" in page and "combined" in page
    assert "&quot;http://evil.example&quot;" in page


def test_json(written) -> None:
    _, summary, paths = written
    text = paths["json"].read_text(encoding="utf-8")
    assert "账户" in text  # ensure_ascii=False
    assert json.loads(text) == summary


def test_degenerate_inputs(tmp_path: Path) -> None:
    """No flags, a single label, no confusion, no optional keys, no issues at all."""
    issue = LabelIssue(row=0, call_id="a", given_label="x", suggested_label="x", score=0.1)
    summary = {"n": 1, "n_flagged": 0, "health": 100.0, "per_label": {"x": {"support": 1}}}
    paths = write_reports([issue], summary, tmp_path / "one")
    assert _parse(paths["html"]).tags
    summary["confusion"] = {"labels": [], "matrix": []}
    paths = write_reports([], summary, tmp_path / "none")
    with paths["csv"].open(encoding="utf-8-sig") as f:
        assert len(list(csv.reader(f))) == 1
    assert "<img" not in paths["html"].read_text(encoding="utf-8")
    one = {"labels": ["x"], "matrix": [[1]]}
    summary |= {"confusion": one, "per_label": {"x": {"f1": 1.0}}}
    paths = write_reports([issue], summary, tmp_path / "single")
    assert paths["html"].read_text(encoding="utf-8").count("data:image/png;base64,") == 3


def test_odd_values(tmp_path: Path) -> None:
    """Control characters, '$' in labels and an unscored row must not break any writer."""
    issues = [
        LabelIssue(0, "a", "$5 fee", "x", float("nan"), ["unreadable"], text="bad\x00\x07byte"),
        LabelIssue(1, "b", "x", "$5 fee", 0.9, flagged=True, text="ok"),
    ]
    per_label = {"$5 fee": {"f1": 0.5}, "x": {"f1": 0.2}}
    summary = {"n": 2, "n_flagged": 1, "health": 50.0, "per_label": per_label,
               "confusion": {"labels": ["$5 fee", "x"], "matrix": [[0, 1], [1, 0]]}}  # fmt: skip
    paths = write_reports(issues, summary, tmp_path)
    with paths["csv"].open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert [r["row"] for r in rows] == ["1", "0"] and rows[1]["score"] == ""
    ws = openpyxl.load_workbook(paths["xlsx"])["Label issues"]
    assert ws.cell(3, len(COLUMNS) + 1).value == "badbyte"


def test_banking77_scale(tmp_path: Path) -> None:
    labels = [f"intent_{i:02d}" for i in range(77)]
    rng = random.Random(1)
    issues = [
        LabelIssue(
            row=r,
            call_id=f"c{r}",
            given_label=rng.choice(labels),
            suggested_label=rng.choice(labels),
            score=rng.random(),
            reasons=["outlier"],
            flagged=rng.random() < 0.1,
            text="some words " * 300,
        )
        for r in range(3000)
    ]
    summary = _summary(labels, len(issues), sum(i.flagged for i in issues))
    start = time.perf_counter()
    paths = write_reports(issues, summary, tmp_path)
    elapsed = time.perf_counter() - start
    page = paths["html"].read_text(encoding="utf-8")
    assert "77 labels: showing the 30 involved in the most off-diagonal confusion" in page
    assert page.count("data:image/png;base64,") == 3
    assert "Top 200 suspects (of 3000 rows)" in page
    assert len(_parse(paths["html"]).tags) > 200
    ws = openpyxl.load_workbook(paths["xlsx"], read_only=True)["Label issues"]
    assert ws.max_row == 3001
    assert len(next(ws.iter_rows(min_row=2, max_row=2, values_only=True))[-1]) == 2000
    assert elapsed < 30, elapsed


def test_a_multi_label_suggestion_is_a_change_in_every_report(tmp_path: Path) -> None:
    """CSV, XLSX and HTML carry every given label and the suggestion as a change (what
    ``callscope relabel`` applies when the row is accepted), not a label that replaces all."""
    issue = LabelIssue(
        row=0,
        call_id="demo-041",
        given_label="refund",
        suggested_label="delivery_delay",
        score=0.62,
        reasons=["unsupported_label"],
        flagged=True,
        given_labels=["refund", "delivery_delay"],
        remove=["refund"],
    )
    paths = write_reports([issue], {"n": 1, "n_flagged": 1}, tmp_path)
    with paths["csv"].open(encoding="utf-8-sig", newline="") as f:
        [row] = list(csv.DictReader(f))
    assert row["given_labels"] == "refund;delivery_delay" and row["change"] == "remove refund"
    assert (row["add_labels"], row["remove_labels"]) == ("", "refund")
    ws = openpyxl.load_workbook(paths["xlsx"])["Label issues"]
    cells = dict(zip([c.value for c in ws[1]], [c.value for c in ws[2]], strict=True))
    assert cells["given_labels"] == "refund;delivery_delay" and cells["change"] == "remove refund"
    page = paths["html"].read_text(encoding="utf-8")
    assert "<td>refund; delivery_delay</td><td>remove refund</td>" in page


def test_the_plots_speak_the_pages_language() -> None:
    """The UI draws a run's plots in the page's language: captions, axes and legend."""
    from eval.quality.report import WORDS, figures

    issues = _issues()
    summary = _summary(LABELS, len(issues), sum(i.flagged for i in issues))
    en = [caption for _, caption in figures(issues, summary)]
    zh = [caption for _, caption in figures(issues, summary, "zh-CN")]
    assert en == [WORDS["en"]["heat"], WORDS["en"]["f1"], WORDS["en"]["hist"]]
    assert zh == [WORDS["zh"]["heat"], WORDS["zh"]["f1"], WORDS["zh"]["hist"]]
    assert all(not any(c.isascii() and c.isalpha() for c in z.replace("F1", "")) for z in zh), zh
    assert set(WORDS["en"]) == set(WORDS["zh"])  # every word has its translation


def test_without_a_chinese_font_the_images_fall_back_to_english_and_captions_stay(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Chinese drawn without a font that has it comes out as boxes: the words inside the images
    are English then, while the captions (drawn by the browser) stay in the page's language."""
    from eval.quality import report

    issues = _issues()
    summary = _summary(LABELS, len(issues), sum(i.flagged for i in issues))
    drawn: list[str] = []
    real = report._score_hist

    def spy(ranked, w=report.WORDS["en"]):
        drawn.append(w["score_axis"])
        return real(ranked, w)

    monkeypatch.setattr(report, "_score_hist", spy)
    monkeypatch.setattr(report, "_cjk_font", lambda: None)
    zh = [caption for _, caption in report.figures(issues, summary, "zh-CN")]
    assert zh[-1] == report.WORDS["zh"]["hist"] and drawn == [report.WORDS["en"]["score_axis"]]
    monkeypatch.setattr(report, "_cjk_font", lambda: "WenQuanYi Micro Hei")
    report.figures(issues, summary, "zh-CN")
    assert drawn[-1] == report.WORDS["zh"]["score_axis"]
