"""Names from users made safe: stored file names and call ids."""

from __future__ import annotations

import pytest

from app.core.names import MAX_CALL_ID, clean_id, safe_call_id, unique_id


@pytest.mark.parametrize(
    ("name", "call_id"),
    [
        ("demo-001", "demo-001"),
        ("退款-0042", "退款-0042"),
        ("<script>alert(1)</script>", "script_alert_1_script"),
        ("invoice\u202egnp.exe", "invoicegnp.exe"),  # right-to-left override dropped
        ("ｆｕｌｌ ｗｉｄｔｈ", "full_width"),  # NFKC
        ("../../etc/passwd", "etc_passwd"),
        ("zero\u200bwidth", "zerowidth"),
        ("", "call"),
        ("...", "call"),
        ("x" * 500, "x" * MAX_CALL_ID),
    ],
)
def test_safe_call_id(name: str, call_id: str) -> None:
    assert safe_call_id(name) == call_id


def test_clean_id_keeps_a_clients_id_but_not_its_control_characters() -> None:
    assert clean_id(" ORD/2023-05-08#1 ") == "ORD/2023-05-08#1"
    assert clean_id("a\u202eb\x00c") == "abc"


def test_unique_id() -> None:
    used: set[str] = set()
    assert [unique_id("a", used) for _ in range(3)] == ["a", "a-2", "a-3"]
