"""The Insights tab's tables and charts, built from the report's data (``insights_dict``): each
table comes with a grid of the same shape holding, for every number, the filter that reproduces
it (``None`` where a cell is not a number), so a click on any number lists its calls
(:func:`drill`, as the Calls tab lists calls). The notes beside them say what the numbers leave
out."""

from __future__ import annotations

from typing import Any

import pandas as pd

from app.core.filters import CallFilter
from app.services.counting import ids_behind
from ui.calls import browse_rows
from ui.context import UIContext
from ui.i18n import t, word

NUMBER_COLUMNS = ("ins.measure", "ins.calls", "ins.share")
LABEL_COLUMNS = ("col.label", "ins.calls", "ins.share", "ins.previous", "ins.change")
WEEK_COLUMNS = ("ins.week", "ins.calls", "ins.unknown", "ins.low_confidence", "ins.unassigned")
GROUP_COLUMNS = ("ins.value", "ins.calls", "ins.unknown", "ins.low_confidence")
BIN_COLUMNS = ("ins.bin", "ins.calls")
DRILL_COLUMNS = (
    "col.call",
    "col.labels",
    "ins.predicted",
    "col.confidence",
    "col.date",
    "col.time",
    "col.text",
)
#: Labels drawn as their own colour in the weekly chart (the rest are one "other" colour) and
#: shown as columns of the week and group tables.
CHART_LABELS = 10

Table = tuple[list[list[Any]], list[list[dict[str, Any] | None]]]
#: Calls listed behind a number (the count above the list is always exact).
MAX_ROWS = 500


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.0%}"


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def top_labels(report: dict[str, Any]) -> list[str]:
    """The labels of the period, most calls first (those with calls only)."""
    return [c["label"] for c in report["labels"] if c["current"]["value"]][:CHART_LABELS]


#: How a date that is not the call's own came about (``date_source``), as the page says it.
DATED_BY = {"upload": "ins.how.upload", "file": "ins.how.file"}


def numbers_table(report: dict[str, Any], lang: str) -> Table:
    """The period in numbers: calls, the previous period, classified, unknown, low confidence,
    no label, undated, dated by upload time, with timings, and the calls per speaker source."""
    calls = report["calls"]["value"]
    classified = report["classified"]["value"]
    below = report["low_confidence_below"]
    items = [
        (t("ins.n_calls", lang), report["calls"], None),
        (t("ins.n_previous", lang), report["previous_calls"], None),
        (t("ins.classified", lang), report["classified"], _share(classified, calls)),
        (t("ins.unknown", lang), report["unknown"], report["unknown_share"]),
        (
            t("ins.n_low", lang).format(below=below),
            report["low_confidence"],
            report["low_confidence_share"],
        ),
        (
            t("ins.unassigned", lang),
            report["unassigned"],
            _share(report["unassigned"]["value"], calls),
        ),
        (t("ins.n_undated", lang), report["undated"], None),
    ]
    items += [
        (
            t("ins.n_dated", lang).format(how=t(DATED_BY.get(how, how), lang)),
            c,
            _share(c["value"], calls),
        )
        for how, c in report["dated_by"].items()
    ]
    items.append((t("ins.n_timed", lang), report["timed"], _share(report["timed"]["value"], calls)))
    items += [
        (
            t("ins.n_speakers", lang).format(source=word("speakers", name, lang)),
            c,
            _share(c["value"], calls),
        )
        for name, c in report["speaker_sources"].items()
    ]
    rows = [[name, c["value"], _pct(part)] for name, c, part in items]
    cells = [[None, c["filter"], None] for _, c, _ in items]
    return rows, cells


CATEGORY_COLUMNS = ("col.rule", "ins.calls", "ins.share", "ins.previous", "ins.change")
#: Before a quality-inspection rule's name where it shares a table with labels.
RULE_MARK = "⚑ "
#: Before a scorecard's title: its mean score (0-100) in that week or group.
SCORE_MARK = "★ "


def categories_table(report: dict[str, Any], lang: str, titles: dict[str, str]) -> Table:
    """Every quality-inspection rule the calls matched, as :func:`labels_table` for labels,
    named by its title (a rule deleted since: by its name)."""
    rows, cells = labels_table(report, lang, key="categories")
    for row in rows:
        row[0] = titles.get(row[0], row[0])
    return rows, cells


def labels_table(report: dict[str, Any], lang: str, key: str = "labels") -> Table:
    """Every label: calls, share, calls in the previous period, change ("new" when it had
    none before: not a rise from nothing)."""
    rows, cells = [], []
    for c in report[key]:
        rows.append(
            [
                c["label"],
                c["current"]["value"],
                _pct(c["share"]),
                c["previous"]["value"],
                t("ins.new_change", lang) if c["new"] else f"{c['change']:+d}",
            ]
        )
        cells.append([None, c["current"]["filter"], None, c["previous"]["filter"], None])
    return rows, cells


def weeks_table(report: dict[str, Any], lang: str) -> tuple[list[list[Any]], list[str], Any]:
    """A row per week: calls, unknown, low confidence, no label, then calls per label."""
    names = top_labels(report)
    headers = [t(c, lang) for c in WEEK_COLUMNS] + names
    rows, cells = [], []
    cards = report.get("scorecards") or []
    headers += [SCORE_MARK + (c["title"] or c["scorecard"]) for c in cards]
    for w in report["weeks"]:
        fixed = [w["calls"], w["unknown"], w["low_confidence"], w["unassigned"]]
        per = [w["labels"].get(n) for n in names]
        scores = [(c["weeks"].get(w["start"]) or {}).get("mean") for c in cards]
        rows.append(
            [w["start"], *(c["value"] for c in fixed), *(c["value"] if c else 0 for c in per)]
            + scores
        )
        cells.append(
            [None, *(c["filter"] for c in fixed), *(c["filter"] if c else None for c in per)]
            + [None] * len(cards)  # a mean: nothing to list
        )
    return rows, headers, cells


def groups_table(
    report: dict[str, Any], field: str | None, lang: str
) -> tuple[list[list[Any]], list[str], Any]:
    """A row per value of a metadata field: calls, unknown, low confidence, calls per label,
    calls per quality-inspection rule (``⚑ rule``: who breaks it most), then each
    scorecard's mean score (``★ title``: who scores lowest)."""
    found = report["groups"].get(field or "") or []
    names = [n for n in top_labels(report) if not found or n in found[0]["labels"]]
    rules = list(found[0].get("categories", {})) if found else []
    cards = report.get("scorecards") or []
    headers = [t(c, lang) for c in GROUP_COLUMNS] + names + [RULE_MARK + r for r in rules]
    headers += [SCORE_MARK + (c["title"] or c["scorecard"]) for c in cards]
    rows, cells = [], []
    for r in found:
        fixed = [r["calls"], r["unknown"], r["low_confidence"]]
        per = [r["labels"][n] for n in names] + [r["categories"][n] for n in rules]
        scores = [
            ((c["groups"].get(field or "") or {}).get(r["value"]) or {}).get("mean") for c in cards
        ]
        rows.append([r["value"], *(c["value"] for c in fixed), *(c["value"] for c in per), *scores])
        cells.append(
            [None, *(c["filter"] for c in fixed), *(c["filter"] for c in per)] + [None] * len(cards)
        )
    return rows, headers, cells


def bin_name(low: float, high: float | None) -> str:
    return f"{low:g}–{high:g}" if high is not None else f"≥ {low:g}"


def bins_table(report: dict[str, Any], metric: str | None) -> Table:
    """The distribution of one metric: calls per bin."""
    bins = report["metrics"].get(metric or "") or []
    rows = [[bin_name(b["low"], b["high"]), b["calls"]["value"]] for b in bins]
    return rows, [[None, b["calls"]["filter"]] for b in bins]


def metric_frame(report: dict[str, Any], metric: str | None) -> pd.DataFrame:
    """Calls per bin of one metric, in the bins' order (the chart is told that order)."""
    rows, _ = bins_table(report, metric)
    return pd.DataFrame([{"bin": name, "calls": n} for name, n in rows], columns=["bin", "calls"])


def weekly_frame(report: dict[str, Any], lang: str) -> pd.DataFrame:
    """Calls per week and label (top labels, the rest as "other", calls without a label), for
    the stacked bars."""
    names = set(top_labels(report))
    other, unassigned = t("ins.other", lang), t("ins.unassigned", lang)
    rows: list[dict[str, Any]] = []
    empty = []
    for w in report["weeks"]:
        rest = 0
        for label, c in w["labels"].items():
            if label in names:
                rows.append({"week": w["start"], "label": label, "calls": c["value"]})
            else:
                rest += c["value"]
        if rest:
            rows.append({"week": w["start"], "label": other, "calls": rest})
        if w["unassigned"]["value"]:
            rows.append(
                {"week": w["start"], "label": unassigned, "calls": w["unassigned"]["value"]}
            )
        if not any(r["week"] == w["start"] for r in rows):
            empty.append(w["start"])
    # A week without calls still shows, as a bar of height 0 of a label the chart has (a label
    # of its own would add a nameless colour to the legend).
    if rows:
        rows += [{"week": week, "label": rows[0]["label"], "calls": 0} for week in empty]
    return pd.DataFrame(rows, columns=["week", "label", "calls"])


def weeks_filter(report: dict[str, Any], picked: Any) -> dict[str, Any] | None:
    """The filter of the calls of the weeks selected on the chart: a list of week starts (or
    two of them, the ends of a brushed range)."""
    if not isinstance(picked, list | tuple) or not picked:
        return None
    chosen = {str(p) for p in picked}
    weeks = [w for w in report["weeks"] if w["start"] in chosen]
    if len(weeks) < len(chosen) and len(picked) == 2:  # a range given by its two ends
        lo, hi = sorted(str(p) for p in picked)
        weeks = [w for w in report["weeks"] if lo <= w["start"] <= hi]
    if not weeks:
        return None
    first, last = weeks[0]["calls"]["filter"], weeks[-1]["calls"]["filter"]
    spec = {**first, "date": {"gte": _date(first)["gte"], "lte": _date(last)["lte"]}}
    return spec if "date" in first and "date" in last else None


def _date(spec: dict[str, Any]) -> dict[str, Any]:
    return spec.get("date") or {}


def summary_markdown(report: dict[str, Any], lang: str) -> str:
    """One paragraph of the period and its rising, falling and new labels, and what its
    numbers leave out: calls without a date, calls dated by their upload time."""
    notes = _date_notes(report, lang)
    if not report["calls"]["value"]:
        text = t("ins.none", lang).format(start=report["date_from"], end=report["date_to"])
        return "\n\n".join([text, *notes])
    text = t("ins.summary", lang).format(
        calls=report["calls"]["value"],
        start=report["date_from"],
        end=report["date_to"],
        previous=report["previous_calls"]["value"],
        unknown=report["unknown"]["value"],
        unknown_share=_pct(report["unknown_share"]) or "–",
        below=report["low_confidence_below"],
        low=report["low_confidence"]["value"],
        low_share=_pct(report["low_confidence_share"]) or "–",
        source=word("source", report["source"], lang),
    )
    if not report["previous_calls"]["value"]:
        # Nothing to compare with: every label would read "rising" by all its calls.
        text += "\n\n" + t("ins.no_previous", lang).format(
            start=report["previous_from"], end=report["previous_to"]
        )
    else:
        for key, moved in (("ins.rising", report["rising"]), ("ins.falling", report["falling"])):
            if moved:
                items = ", ".join(f"`{c['label']}` {c['change']:+d}" for c in moved)
                text += f"\n\n**{t(key, lang)}**: {items}"
        if report["new"]:
            items = ", ".join(f"`{c['label']}` ({c['current']['value']})" for c in report["new"])
            text += f"\n\n**{t('ins.new', lang)}**: {items}"
    return "\n\n".join([text, *notes])


def _date_notes(report: dict[str, Any], lang: str) -> list[str]:
    notes = [
        t("ins.dated_note", lang).format(n=c["value"], how=t(DATED_BY.get(how, how), lang))
        for how, c in report["dated_by"].items()
    ]
    if report["undated"]["value"]:
        notes.append(t("ins.undated_note", lang).format(n=report["undated"]["value"]))
    return notes


def timed_markdown(report: dict[str, Any], lang: str) -> str:
    """Which calls the metric histograms cover: only calls with timings have metrics."""
    calls = report["calls"]["value"]
    if not calls:
        return ""
    return t("ins.timed_note", lang).format(timed=report["timed"]["value"], calls=calls)


def missing_markdown(report: dict[str, Any], field: str | None, lang: str) -> str:
    """Why the table by ``field`` is empty, and how calls get the field; "" when it is not."""
    if not field or field not in report["missing_metadata"]:
        return ""
    return t("ins.missing_meta", lang).format(field=word("field", field, lang), column=field)


def drill(ctx: UIContext, spec: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
    """The calls behind a number: the exact count, and the first rows as the Calls tab lists
    them with each call's prediction."""
    total, predictions = ids_behind(ctx.runtime, spec, limit=MAX_ROWS)
    if not predictions:
        return total, []
    rows = browse_rows(ctx, CallFilter(call_ids=tuple(sorted(predictions))))
    for row in rows:
        predicted, confidence = predictions.get(row["call_id"], (None, None))
        row["predicted"] = predicted or ""
        row["confidence"] = round(confidence, 3) if isinstance(confidence, int | float) else ""
    return total, rows


def drill_table(rows: list[dict[str, Any]]) -> list[list[Any]]:
    keys = ("call_id", "labels", "predicted", "confidence", "date", "time", "text")
    return [[r[k] for k in keys] for r in rows]
