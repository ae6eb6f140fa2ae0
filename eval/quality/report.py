"""Write the human-facing outputs of a label-quality run.

``write_reports`` puts four files in one folder: ``label_issues.csv`` (every row, most suspect
first, for scripts and spreadsheets), ``label_issues.xlsx`` (the same plus the text, filterable,
for the people who relabel), ``report.html`` (one self-contained page with plots, to read or
mail around without a server) and ``summary.json`` (the run's numbers, for comparing runs).

Transcripts and labels are untrusted input: they are HTML-escaped in the page and can never
become spreadsheet formulas.
"""

from __future__ import annotations

import base64
import csv
import functools
import html
import io
import json
import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib import font_manager
from matplotlib.figure import Figure
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font, PatternFill

from app.core.text import spreadsheet_safe, starts_formula
from eval.quality.issue import LabelIssue

#: ``given_labels`` holds every label (``;``-separated); the suggestion is ``change`` in words
#: and, for ``callscope relabel``, ``add_labels`` / ``remove_labels`` (what accepting applies).
COLUMNS = (
    "row,id,given_label,given_labels,suggested_label,change,add_labels,remove_labels,score,"
    "reasons,flagged,self_confidence,llm_verdict,llm_label,llm_reason"
).split(",")
MAX_HEATMAP_LABELS = 30
TOP_SUSPECTS = 200
_WIDTHS = dict(
    row=7, id=18, given_label=22, given_labels=28, suggested_label=22, change=32, score=8,
    reasons=40, flagged=8,
)  # fmt: skip
_FLAG_FILL = PatternFill("solid", fgColor="FFF2CC")
_CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Droid Sans Fallback",
)
#: Font files that hold those families, looked for when matplotlib's font cache predates them.
_CJK_FILES = ("notosanscjk", "notosanssc", "wqy", "droidsansfallback")


def write_reports(
    issues: list[LabelIssue],
    summary: dict,
    out: Path,
    done: Callable[[float], None] | None = None,
) -> dict[str, Path]:
    """Write CSV, XLSX, HTML and JSON for one run into ``out``; return their paths by kind.
    ``done(fraction)`` hears of each file (the HTML, with its plots, takes most of the time)."""
    done = done or (lambda fraction: None)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ranked = _ranked(issues)
    paths = {
        "csv": out / "label_issues.csv",
        "xlsx": out / "label_issues.xlsx",
        "html": out / "report.html",
        "json": out / "summary.json",
    }
    _write_csv(ranked, paths["csv"])
    done(0.05)
    _write_xlsx(ranked, summary, paths["xlsx"])
    done(0.2)
    paths["html"].write_text(_html(ranked, summary), encoding="utf-8")
    done(0.95)
    paths["json"].write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    return paths


def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and math.isfinite(x)


def _ranked(issues: list[LabelIssue]) -> list[LabelIssue]:
    # Unscored (unreadable) rows go last rather than breaking the sort.
    return sorted(issues, key=lambda i: -i.score if _finite(i.score) else math.inf)


def _values(issue: LabelIssue) -> list[Any]:
    def num(x: float | None) -> float | None:
        return round(x, 4) if _finite(x) else None

    return [
        issue.row, issue.call_id, issue.given_label, ";".join(issue.labels),
        issue.suggested_label, str(issue.change), ";".join(issue.add), ";".join(issue.remove),
        num(issue.score), issue.reason_text, issue.flagged, num(issue.self_confidence),
        issue.llm_verdict, issue.llm_label, issue.llm_reason,
    ]  # fmt: skip


def _write_csv(ranked: list[LabelIssue], path: Path) -> None:
    # utf-8-sig: without the BOM Excel decodes Chinese as the local ANSI code page.
    with path.open("w", newline="", encoding="utf-8-sig") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for issue in ranked:
            cells = _values(issue)
            cells[COLUMNS.index("flagged")] = "true" if issue.flagged else "false"
            # Call ids, labels and suggestions come from users' files: never a formula.
            writer.writerow(["" if v is None else spreadsheet_safe(v) for v in cells])


def put_cell(ws: Any, row: int, col: int, value: Any) -> Any:
    if isinstance(value, str):
        # openpyxl rejects control characters, which do turn up in pasted transcripts.
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell = ws.cell(row=row, column=col, value=value)
    if starts_formula(value):
        # Stored as a plain string, Excel shows it verbatim and never evaluates it.
        cell.data_type = "s"
    return cell


def _sheet(ws: Any, header: list[str], rows: list[list[Any]], flags: list[bool]) -> None:
    bold = Font(bold=True)
    for c, name in enumerate(header, 1):
        put_cell(ws, 1, c, name).font = bold
        letter = ws.cell(row=1, column=c).column_letter
        ws.column_dimensions[letter].width = _WIDTHS.get(name, 80 if name == "text" else 16)
    for r, (values, flagged) in enumerate(zip(rows, flags, strict=True), 2):
        for c, value in enumerate(values, 1):
            cell = put_cell(ws, r, c, value)
            if flagged:
                cell.fill = _FLAG_FILL
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions


def _write_xlsx(ranked: list[LabelIssue], summary: dict, path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "Label issues"
    rows = [_values(i) + [(i.text or "")[:2000]] for i in ranked]
    _sheet(ws, COLUMNS + ["text"], rows, [i.flagged for i in ranked])
    per_label = summary.get("per_label") or {}
    keys = ["support", "precision", "recall", "f1", "n_flagged", "health"]
    label_rows = [[name] + [(m or {}).get(k) for k in keys] for name, m in per_label.items()]
    _sheet(wb.create_sheet("Per label"), ["label"] + keys, label_rows, [False] * len(label_rows))
    wb.save(path)


# --- plots -------------------------------------------------------------------------------------


@functools.cache
def _cjk_font() -> str | None:
    """An installed font that draws Chinese, or None. matplotlib caches the font list it found
    when first run; a CJK font installed after that (seen: WenQuanYi, installed with chromium)
    is added from the system's font files once."""
    manager = font_manager.fontManager
    for attempt in range(2):
        installed = {f.name for f in manager.ttflist}
        found = next((f for f in _CJK_FONTS if f in installed), None)
        if found or attempt:
            return found
        for path in font_manager.findSystemFonts():
            if any(part in Path(path).name.lower().replace("-", "") for part in _CJK_FILES):
                try:
                    manager.addfont(path)
                except (OSError, RuntimeError, ValueError):  # an unreadable font file
                    continue
    return None


def _font_family() -> list[str]:
    found = _cjk_font()
    return ([found] if found else []) + ["DejaVu Sans"]


def _png(fig: Figure) -> str:
    # Figure without pyplot: no global figure registry to leak into and safe off the main thread.
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _tick(label: Any) -> str:
    # A "$" in a label would otherwise start mathtext and can raise on odd counts.
    return str(label).replace("$", r"\$")


#: The plots' words, by language (the UI's page language; the HTML report is English).
WORDS = {
    "en": {
        "heat": "Rows: given label; columns: out-of-sample predicted label; colour: row share.",
        "heat_more": " {n} labels: showing the {shown} involved in the most off-diagonal"
        " confusion.",
        "predicted": "predicted",
        "given": "given",
        "f1_axis": "F1 (out-of-sample prediction vs given label)",
        "f1": "Per-label F1, worst first.",
        "score_axis": "score (higher = more likely mislabeled)",
        "rows": "rows",
        "not_flagged": "not flagged",
        "flagged": "flagged",
        "hist": "Score distribution, flagged vs not flagged (stacked).",
    },
    "zh": {
        "heat": "行：给定标签；列：样本外预测标签；颜色：占该行的比例。",
        "heat_more": " 共 {n} 个标签：只显示混淆最多的 {shown} 个。",
        "predicted": "预测",
        "given": "给定",
        "f1_axis": "F1（样本外预测与给定标签相比）",
        "f1": "各标签的 F1，最差的在最上面。",
        "score_axis": "得分（越高越可能标错）",
        "rows": "条数",
        "not_flagged": "未标记",
        "flagged": "已标记",
        "hist": "得分分布：已标记与未标记（堆叠）。",
    },
}


def words(lang: str) -> dict[str, str]:
    """The plots' words in ``lang`` (``zh-CN`` and any ``zh``: Chinese; else English)."""
    return WORDS["zh" if lang.lower().startswith("zh") else "en"]


def _heatmap(
    confusion: dict, w: dict[str, str] = WORDS["en"], captions: dict[str, str] = WORDS["en"]
) -> tuple[Figure, str] | None:
    """The confusion heatmap (axes in ``w``) and its caption (in ``captions``)."""
    labels, matrix = list(confusion.get("labels") or []), confusion.get("matrix") or []
    if not labels or len(matrix) != len(labels):
        return None
    idx = list(range(len(labels)))
    caption = captions["heat"]
    if len(labels) > MAX_HEATMAP_LABELS:
        off = [sum(matrix[i]) + sum(r[i] for r in matrix) - 2 * matrix[i][i] for i in idx]
        idx = sorted(sorted(idx, key=lambda i: -off[i])[:MAX_HEATMAP_LABELS])
        caption += captions["heat_more"].format(n=len(labels), shown=MAX_HEATMAP_LABELS)
    sub = [[matrix[i][j] for j in idx] for i in idx]
    share = [[v / (sum(r) or 1) for v in r] for r in sub]
    size = 2.5 + 0.28 * len(idx)
    fig = Figure(figsize=(size + 1, size))
    ax = fig.subplots()
    im = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    names = [_tick(labels[i]) for i in idx]
    ax.set_xticks(range(len(idx)), names, rotation=90, fontsize=7)
    ax.set_yticks(range(len(idx)), names, fontsize=7)
    ax.set_xlabel(w["predicted"])
    ax.set_ylabel(w["given"])
    if len(idx) <= 15:
        for i, r in enumerate(sub):
            for j, v in enumerate(r):
                colour = "white" if share[i][j] > 0.5 else "black"
                ax.text(j, i, str(v), ha="center", va="center", fontsize=7, color=colour)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return fig, caption


def _f1_bars(per_label: dict, w: dict[str, str] = WORDS["en"]) -> Figure | None:
    f1s = [(n, (m or {}).get("f1")) for n, m in per_label.items()]
    pairs = [(n, f1) for n, f1 in f1s if _finite(f1)]
    if not pairs:
        return None
    pairs.sort(key=lambda p: p[1])
    fig = Figure(figsize=(6, 1 + 0.2 * len(pairs)))
    ax = fig.subplots()
    ax.barh(range(len(pairs)), [p[1] for p in pairs], color="#4c72b0")
    ax.set_yticks(range(len(pairs)), [_tick(p[0]) for p in pairs], fontsize=7)
    ax.invert_yaxis()  # worst label on top
    ax.set_xlim(0, 1)
    ax.set_xlabel(w["f1_axis"])
    return fig


def _score_hist(ranked: list[LabelIssue], w: dict[str, str] = WORDS["en"]) -> Figure | None:
    scored = [i for i in ranked if _finite(i.score)]
    if not scored:
        return None
    fig = Figure(figsize=(6, 3))
    ax = fig.subplots()
    data = [[i.score for i in scored if not i.flagged], [i.score for i in scored if i.flagged]]
    ax.hist(data, bins=20, range=(0, 1), stacked=True, label=[w["not_flagged"], w["flagged"]],
            color=["#9db4d3", "#d9534f"])  # fmt: skip
    ax.set_xlabel(w["score_axis"])
    ax.set_ylabel(w["rows"])
    ax.legend()
    return fig


def figures(ranked: list[LabelIssue], summary: dict, lang: str = "en") -> list[tuple[str, str]]:
    """(base64 PNG, caption) per plot, in ``lang``; plots without data are left out. The words
    drawn inside the images are English when no installed font draws Chinese (boxes otherwise);
    the captions, which the browser draws, are always in ``lang``."""
    captions = words(lang)
    w = captions if _cjk_font() else WORDS["en"]
    out: list[tuple[str, str]] = []
    with matplotlib.rc_context({"font.family": _font_family()}), warnings.catch_warnings():
        # Without a CJK font the glyphs render as boxes; a warning per glyph is just noise.
        warnings.filterwarnings("ignore", message=r".*Glyph .* missing")
        heat = _heatmap(summary.get("confusion") or {}, w, captions)
        if heat:
            out.append((_png(heat[0]), heat[1]))
        bars = _f1_bars(summary.get("per_label") or {}, w)
        if bars:
            out.append((_png(bars), captions["f1"]))
        hist = _score_hist(ranked, w)
        if hist:
            out.append((_png(hist), captions["hist"]))
    return out


# --- html ----------------------------------------------------------------------------------------

_CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;font-size:13px;margin:1em 0}
td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f0f0f0}tr.flag td{background:#fff2cc}.num{text-align:right}
.head span{display:inline-block;margin-right:2em;font-size:18px}.warn{color:#a94442}
figure{display:inline-block;margin:0 1em 1em 0}figcaption{font-size:13px;color:#555}"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if math.isfinite(value) else ""
    return _e(value)


def _table(header: list[str], rows: list[list[Any]], classes: list[str] | None = None) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = []
    for k, row in enumerate(rows):
        cls = f' class="{classes[k]}"' if classes and classes[k] else ""
        cells = "".join(
            f'<td class="num">{_fmt(v)}</td>' if _finite(v) else f"<td>{_fmt(v)}</td>" for v in row
        )
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _html(ranked: list[LabelIssue], summary: dict) -> str:
    s = summary
    parts = [
        '<!DOCTYPE html><html><head><meta charset="utf-8">',
        f"<title>Label quality report</title><style>{_CSS}</style></head><body>",
        "<h1>Label quality report</h1><div class='head'>",
    ]
    head = {"rows": "n", "flagged": "n_flagged", "health": "health", "seconds": "seconds"}
    for name, key in (head | {"run": "run_id", "source": "source"}).items():
        if s.get(key) is not None:
            parts.append(f"<span>{name}: <b>{_fmt(s[key])}</b></span>")
    parts.append("</div>")
    warns = list(s.get("warnings") or [])
    if s.get("labels_too_few") and not any("example" in str(w) for w in warns):
        warns.append("too few examples: " + ", ".join(map(str, s["labels_too_few"])))
    imb = s.get("imbalance") or {}
    # Below 3:1 an imbalance is ordinary in intent data and not worth a warning.
    if (imb.get("max_min_ratio") or 0) >= 3:
        warns.append(
            f"imbalance: largest/smallest = {imb.get('max_min_ratio')} "
            f"({imb.get('largest')} / {imb.get('smallest')})"
        )
    if warns:
        items = "".join(f"<li>{_e(w)}</li>" for w in warns)
        parts.append(f"<h2>Warnings</h2><ul class='warn'>{items}</ul>")
    for png, caption in figures(ranked, s):
        parts.append(
            f'<figure><img src="data:image/png;base64,{png}" alt="{_e(caption)}">'
            f"<figcaption>{_e(caption)}</figcaption></figure>"
        )
    per_label = s.get("per_label") or {}
    if per_label:
        keys = ["support", "precision", "recall", "f1", "n_flagged", "health"]
        rows = [[n] + [(m or {}).get(k) for k in keys] for n, m in per_label.items()]
        rows.sort(key=lambda r: r[4] if _finite(r[4]) else math.inf)
        parts.append("<h2>Per label (worst F1 first)</h2>")
        parts.append(_table(["label", *keys[:3], "F1", "flagged", "health"], rows))
    top = ranked[:TOP_SUSPECTS]
    if top:
        rows = []
        for i in top:
            llm = " → ".join(filter(None, [i.llm_verdict, i.llm_label]))
            if i.llm_reason:
                llm += f": {i.llm_reason}"
            text = i.text if len(i.text or "") <= 300 else i.text[:300] + "…"
            score = i.score if _finite(i.score) else None
            rows.append([i.row, i.call_id, "; ".join(i.labels), str(i.change), score,
                         i.reason_text, text, llm])  # fmt: skip
        parts.append(f"<h2>Top {len(top)} suspects (of {len(ranked)} rows)</h2>")
        header = ["row", "id", "given labels", "suggested change", "score", "reasons", "text",
                  "LLM"]  # fmt: skip
        parts.append(_table(header, rows, ["flag" if i.flagged else "" for i in top]))
    methods = s.get("methods") or {}
    if methods:
        metrics = sorted({k for m in methods.values() for k in (m or {})})
        rows = [[name] + [(m or {}).get(k) for k in metrics] for name, m in methods.items()]
        parts.append("<h2>Methods</h2>" + _table(["method", *metrics], rows))
    if adj := s.get("adjudication"):
        note = "; ".join(f"{k}: {v}" for k, v in adj.items()) if isinstance(adj, dict) else adj
        parts.append(f"<h2>LLM adjudication</h2><p>{_e(note)}</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
