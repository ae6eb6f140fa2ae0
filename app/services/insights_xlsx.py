"""Insights as a workbook: a summary sheet, the labels with their change, the weeks, one sheet per
metadata field and the metric distributions. Labels, metadata values and filters come from users:
every cell goes through ``put_cell``, so none can become a formula."""

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


def insights_xlsx(report: Insights) -> bytes:
    """The workbook of ``report`` (``.xlsx`` bytes)."""
    book = Workbook()
    summary = book.active
    summary.title = "summary"
    _table(summary, ["measure", "value", "share"], _summary(report))
    labels = book.create_sheet("labels")
    _table(
        labels,
        ["label", "calls", "previous period", "change", "new", "share", "previous share"],
        [
            [
                c.label,
                c.current.value,
                c.previous.value,
                c.change,
                "new" if c.new else None,  # no calls before: not "rising" from nothing
                share(c.current, report.calls),
                share(c.previous, report.previous_calls),
            ]
            for c in report.labels
        ],
    )
    names = [c.label for c in report.labels]
    weeks = book.create_sheet("weeks")
    _table(
        weeks,
        ["week from", "week to", "calls", "no label", "classified", "unknown", "low confidence"]
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
        sheet = book.create_sheet(_sheet_name(book, f"by {field}"))
        _table(
            sheet,
            [field, "calls", "classified", "unknown", "low confidence"] + columns,
            [
                [r.value]
                + _values(r.calls, r.classified, r.unknown, r.low_confidence)
                + [_value(r.labels.get(n)) for n in columns]
                for r in rows
            ]
            or [[missing_metadata_note(field)]],
        )
    metrics = book.create_sheet("metrics")
    _table(
        metrics,
        ["metric", "from", "to", "calls"],
        [
            [name, b.low, b.high, b.calls.value]
            for name, bins in report.metrics.items()
            for b in bins
        ],
    )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def write_insights_xlsx(report: Insights, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(insights_xlsx(report))
    return path


def _summary(report: Insights) -> list[list[Any]]:
    rows: list[list[Any]] = [
        ["period", f"{report.date_from.isoformat()} to {report.date_to.isoformat()}", None],
        [
            "previous period",
            f"{report.previous_from.isoformat()} to {report.previous_to.isoformat()}",
            None,
        ],
        ["label from", report.source, None],
        ["filter", json.dumps(report.scope, ensure_ascii=False), None],
        ["calls", report.calls.value, None],
        ["calls in the previous period", report.previous_calls.value, None],
        ["classified", report.classified.value, share(report.classified, report.calls)],
        ["answered unknown", report.unknown.value, report.unknown_share],
        [
            f"below {report.low_confidence_below} confidence",
            report.low_confidence.value,
            report.low_confidence_share,
        ],
        ["no label", report.unassigned.value, share(report.unassigned, report.calls)],
        ["without a date (not counted)", report.undated.value, None],
        *(
            [f"dated by {DATED_BY.get(how, how)}", c.value, share(c, report.calls)]
            for how, c in report.dated_by.items()
        ),
        [
            "with timings (recordings): in the metrics sheet",
            report.timed.value,
            share(report.timed, report.calls),
        ],
    ]
    rows += [
        [f"speakers from {name}", c.value, share(c, report.calls)]
        for name, c in report.speaker_sources.items()
    ]
    return rows


#: How a date that is not the call's own came about, as the summary sheet says it.
DATED_BY = {"upload": "upload time", "file": "file time"}


def missing_metadata_note(field: str) -> str:
    """What an empty table by ``field`` means and how calls get the field."""
    return (
        f"No call of this period has {field!r}. Calls get it from a {field!r} column of an "
        "imported table: callscope import-labels, callscope batch --manifest, POST /api/imports "
        "(the fields of INGEST__METADATA_FIELDS)."
    )


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
