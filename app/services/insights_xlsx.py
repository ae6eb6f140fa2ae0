"""Insights as a workbook: a summary sheet, the labels with their change, the weeks, one sheet per
metadata field and the metric distributions, its sheet names, headers and measures in English or
Chinese. Labels, metadata values and filters come from users: every cell goes through
``put_cell``, so none can become a formula."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from app.services.counting import Count
from app.services.insights_report import Insights, share

_SHEET_UNSAFE = re.compile(r"[\[\]:*?/\\]")

#: The workbook's words: English, and Chinese for a zh page (``lang`` ``zh-CN``).
WORDS: dict[str, dict[str, str]] = {
    "en": {
        "summary": "summary",
        "labels": "labels",
        "rules": "inspection rules",
        "rule": "rule",
        "scorecards": "scorecards",
        "scorecard": "scorecard",
        "group": "group",
        "all calls": "all calls",
        "scored": "calls scored",
        "mean score": "mean score",
        "previous mean": "previous period's mean",
        "weeks": "weeks",
        "by": "by {field}",
        "metrics": "metrics",
        "measure": "measure",
        "value": "value",
        "share": "share",
        "label": "label",
        "calls": "calls",
        "previous period": "previous period",
        "change": "change",
        "new": "new",
        "previous share": "previous share",
        "week from": "week from",
        "week to": "week to",
        "no label": "no label",
        "classified": "classified",
        "unknown": "unknown",
        "low confidence": "low confidence",
        "metric": "metric",
        "from": "from",
        "to": "to",
        "period": "period",
        "span": "{start} to {end}",
        "label from": "label from",
        "filter": "filter",
        "calls in the previous period": "calls in the previous period",
        "answered unknown": "answered unknown",
        "below": "below {value} confidence",
        "undated": "without a date (not counted)",
        "dated by": "dated by {how}",
        "upload": "upload time",
        "file": "file time",
        "timed": "with timings (recordings): in the metrics sheet",
        "speakers from": "speakers from {name}",
        "missing": "No call of this period has {field!r}. Calls get it from a {field!r} column of "
        "an imported table: callscope import-labels, callscope batch --manifest, POST "
        "/api/imports (the fields of INGEST__METADATA_FIELDS).",
    },
    "zh-CN": {
        "summary": "概览",
        "labels": "标签",
        "rules": "质检规则",
        "rule": "规则",
        "scorecards": "评分表",
        "scorecard": "评分表",
        "group": "分组",
        "all calls": "全部通话",
        "scored": "已评分通话",
        "mean score": "平均分",
        "previous mean": "上一周期平均分",
        "weeks": "每周",
        "by": "按{field}",
        "metrics": "通话指标",
        "measure": "项目",
        "value": "数值",
        "share": "占比",
        "label": "标签",
        "calls": "通话数",
        "previous period": "上一周期",
        "change": "变化",
        "new": "新出现",
        "previous share": "上一周期占比",
        "week from": "周起",
        "week to": "周止",
        "no label": "无标签",
        "classified": "已分类",
        "unknown": "未知",
        "low confidence": "低置信度",
        "metric": "指标",
        "from": "从",
        "to": "到",
        "period": "周期",
        "span": "{start} 至 {end}",
        "label from": "标签来源",
        "filter": "筛选条件",
        "calls in the previous period": "上一周期通话数",
        "answered unknown": "回答为未知",
        "below": "置信度低于 {value}",
        "undated": "无日期（未计入）",
        "dated by": "日期取自{how}",
        "upload": "上传时间",
        "file": "文件时间",
        "timed": "有时间信息（录音）：见通话指标表",
        "speakers from": "说话人区分方式：{name}",
        "missing": "本周期没有通话带有 {field!r}。通话从导入表格的 {field!r} 列获得该字段："
        "callscope import-labels、callscope batch --manifest、POST /api/imports"
        "（INGEST__METADATA_FIELDS 中的字段）。",
    },
}


def words(lang: str = "en") -> dict[str, str]:
    """The workbook's words in ``lang`` (zh-CN, zh-TW or zh: Chinese; anything else: English)."""
    return WORDS["zh-CN" if lang.lower().startswith("zh") else "en"]


def insights_xlsx(report: Insights, lang: str = "en") -> bytes:
    """The workbook of ``report`` (``.xlsx`` bytes), its words in ``lang``."""
    w = words(lang)
    book = Workbook()
    summary = book.active
    summary.title = w["summary"]
    _table(summary, [w["measure"], w["value"], w["share"]], _summary(report, w))
    labels = book.create_sheet(w["labels"])
    _table(
        labels,
        [w[k] for k in ("label", "calls", "previous period", "change", "new", "share")]
        + [w["previous share"]],
        [
            [
                c.label,
                c.current.value,
                c.previous.value,
                c.change,
                w["new"] if c.new else None,  # no calls before: not "rising" from nothing
                share(c.current, report.calls),
                share(c.previous, report.previous_calls),
            ]
            for c in report.labels
        ],
    )
    if report.categories:
        rules = book.create_sheet(w["rules"])
        _table(
            rules,
            [w[k] for k in ("rule", "calls", "previous period", "change", "new", "share")],
            [
                [c.label, c.current.value, c.previous.value, c.change,
                 w["new"] if c.new else None, share(c.current, report.calls)]
                for c in report.categories
            ],
        )  # fmt: skip
    if report.scorecards:
        _scorecards_sheet(book.create_sheet(w["scorecards"]), report, w)
    names = [c.label for c in report.labels]
    weeks = book.create_sheet(w["weeks"])
    _table(
        weeks,
        [w[k] for k in ("week from", "week to", "calls", "no label", "classified", "unknown")]
        + [w["low confidence"]]
        + names,
        [
            [w.start.isoformat(), w.end.isoformat()]
            + _values(w.calls, w.unassigned, w.classified, w.unknown, w.low_confidence)
            + [_value(w.labels.get(n)) for n in names]
            for w in report.weeks
        ],
    )
    for field, rows in report.groups.items():
        columns = list(rows[0].labels) if rows else []
        flagged = list(rows[0].categories) if rows else []  # who breaks which rule
        sheet = book.create_sheet(_sheet_name(book, w["by"].format(field=field)))
        _table(
            sheet,
            [field]
            + [w[k] for k in ("calls", "classified", "unknown", "low confidence")]
            + columns
            + [f"⚑ {n}" for n in flagged],
            [
                [r.value]
                + _values(r.calls, r.classified, r.unknown, r.low_confidence)
                + [_value(r.labels.get(n)) for n in columns]
                + [_value(r.categories.get(n)) for n in flagged]
                for r in rows
            ]
            or [[missing_metadata_note(field, lang)]],
        )
    metrics = book.create_sheet(w["metrics"])
    _table(
        metrics,
        [w["metric"], w["from"], w["to"], w["calls"]],
        [
            [name, b.low, b.high, b.calls.value]
            for name, bins in report.metrics.items()
            for b in bins
        ],
    )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def write_insights_xlsx(report: Insights, path: Path, lang: str = "en") -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(insights_xlsx(report, lang))
    return path


def _scorecards_sheet(sheet: Any, report: Insights, w: dict[str, str]) -> None:
    """A row per scorecard (all calls of the period), then one per value of each metadata
    field, lowest mean first; the weeks' means to the right."""
    starts = [wk.start.isoformat() for wk in report.weeks]
    rows: list[list[Any]] = []
    for card in report.scorecards:
        weekly = [card.weeks[d].mean if d in card.weeks else None for d in starts]
        rows.append([card.title or card.name, w["all calls"], "", card.current.calls,
                     card.current.mean, card.previous.mean, *weekly])  # fmt: skip
        for field, values in card.groups.items():
            for value, m in values.items():
                rows.append([card.title or card.name, field, value, m.calls, m.mean, None])
    _table(
        sheet,
        [w[k] for k in ("scorecard", "group", "value", "scored", "mean score", "previous mean")]
        + starts,
        rows,
    )


def _summary(report: Insights, w: dict[str, str]) -> list[list[Any]]:
    def span(start: Any, end: Any) -> str:
        return w["span"].format(start=start.isoformat(), end=end.isoformat())

    rows: list[list[Any]] = [
        [w["period"], span(report.date_from, report.date_to), None],
        [w["previous period"], span(report.previous_from, report.previous_to), None],
        [w["label from"], report.source, None],
        [w["filter"], json.dumps(report.scope, ensure_ascii=False), None],
        [w["calls"], report.calls.value, None],
        [w["calls in the previous period"], report.previous_calls.value, None],
        [w["classified"], report.classified.value, share(report.classified, report.calls)],
        [w["answered unknown"], report.unknown.value, report.unknown_share],
        [
            w["below"].format(value=report.low_confidence_below),
            report.low_confidence.value,
            report.low_confidence_share,
        ],
        [w["no label"], report.unassigned.value, share(report.unassigned, report.calls)],
        [w["undated"], report.undated.value, None],
        *(
            [w["dated by"].format(how=w.get(how, how)), c.value, share(c, report.calls)]
            for how, c in report.dated_by.items()
        ),
        [w["timed"], report.timed.value, share(report.timed, report.calls)],
    ]
    rows += [
        [w["speakers from"].format(name=name), c.value, share(c, report.calls)]
        for name, c in report.speaker_sources.items()
    ]
    return rows


#: How a date that is not the call's own came about, as the summary sheet says it.
DATED_BY = {how: WORDS["en"][how] for how in ("upload", "file")}


def missing_metadata_note(field: str, lang: str = "en") -> str:
    """What an empty table by ``field`` means and how calls get the field."""
    return words(lang)["missing"].format(field=field)


def _table(sheet: Any, header: list[str], rows: list[list[Any]]) -> None:
    # The label-quality report's cell writer (control characters dropped, formulas kept text);
    # imported here, as results.py does, so loading the service does not load matplotlib.
    from eval.quality.report import put_cell

    bold = Font(bold=True)
    for c, name in enumerate(header, 1):
        put_cell(sheet, 1, c, name).font = bold
    for r, values in enumerate(rows, 2):
        for c, value in enumerate(values, 1):
            put_cell(sheet, r, c, value)
    sheet.freeze_panes = "A2"


def _value(count: Count | None) -> int:
    return count.value if count is not None else 0


def _values(*counts: Count) -> list[Any]:
    return [c.value for c in counts]


def _sheet_name(book: Workbook, wanted: str) -> str:
    """A valid, unused sheet title (at most 31 characters, none of ``[]:*?/\\``)."""
    base = _SHEET_UNSAFE.sub("_", wanted)[:28] or "sheet"
    name, n = base, 2
    while name in book.sheetnames:
        name, n = f"{base[:26]}-{n}", n + 1
    return name
