"""The one filter object every entry point speaks: parsing the CLI form and the store spec."""

from __future__ import annotations

from datetime import date

import pytest

from app.core.errors import InputError
from app.core.filters import CallFilter
from retrieval.index.filters import normalize_filter


def test_cli_form_parses_into_the_typed_filter() -> None:
    f = CallFilter.parse(
        ["label=refund,delivery", "speaker=agent", "call=c1", "date>=2026-10-01", "lang=zh"]
    )
    assert f == CallFilter(
        labels=("refund", "delivery"),
        speakers=("agent",),
        call_ids=("c1",),
        language="zh",
        date_from=date(2026, 10, 1),
    )
    assert f.spec() == {
        "labels": ["refund", "delivery"],
        "call_id": "c1",
        "speakers": "agent",
        "language": "zh",
        "date": {"gte": "2026-10-01"},
    }
    normalize_filter(f.spec())  # the store accepts what the filter writes


def test_one_day_and_repeated_keys() -> None:
    f = CallFilter.parse(["date=2026-10-05", "label=a", "label=b"])
    assert f.spec() == {"labels": ["a", "b"], "date": {"gte": "2026-10-05", "lte": "2026-10-05"}}


def test_empty_filter_is_falsy_and_blank_values_are_refused() -> None:
    assert not CallFilter()
    assert CallFilter(labels=(" refund ",)).spec() == {"labels": "refund"}
    # A blank value would silently widen a search to every call: refused, never dropped.
    for bad in (
        {"labels": ("",)},
        {"labels": ("refund", "  ")},
        {"call_ids": ("",)},
        {"speakers": (" ",)},
        {"split": " "},
        {"language": ""},
        {"metadata": (("agent", ("",)),)},
    ):
        with pytest.raises(InputError, match="empty value"):
            CallFilter(**bad)


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["label="], "give a value"),
        (["label=,"], "give a value"),
        (["colour=red"], "unknown key 'colour'"),
        (["label>=x"], "only date"),
        (["date>=10/01/2026"], "not a date"),
        (["refund"], "use key=value"),
        (["date>=2026-11-01", "date<=2026-10-01"], "after date to"),
    ],
)
def test_bad_filters_say_what_is_wrong(items: list[str], message: str) -> None:
    with pytest.raises(InputError, match=message):
        CallFilter.parse(items)
