"""The PII redactor: each kind found in English and Chinese text, look-alikes left alone."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.core.config import PIISettings, load_settings
from app.core.errors import ConfigError
from retrieval.llm.pii import Redactor, id_check_char, is_external, luhn_ok, redactor_for


def with_id_check(first17: str) -> str:
    """An 18-character ID number with its check character, computed here independently."""
    weights = [2 ** (17 - i) % 11 for i in range(17)]  # ISO 7064 MOD 11-2 weights
    return (
        first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights, strict=True)) % 11]
    )


def with_luhn(body: str) -> str:
    """``body`` plus its Luhn check digit."""
    for check in "0123456789":
        digits = [int(c) for c in body + check][::-1]
        total = sum(
            d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(digits)
        )
        if total % 10 == 0:
            return body + check
    raise AssertionError("unreachable")


ID_1990 = with_id_check("11010119900307757")  # Beijing Dongcheng, born 1990-03-07
ID_X = next(
    with_id_check(f"440305198512{day:02d}123")
    for day in range(1, 29)
    if with_id_check(f"440305198512{day:02d}123").endswith("X")
)
VISA = with_luhn("411111111111111")  # 4111 1111 1111 1111
UNIONPAY_19 = with_luhn("621226170200000000")  # 19 digits, UnionPay 62


def bad_check(number: str) -> str:
    """The same number with a wrong last character."""
    last = number[-1]
    return number[:-1] + ("1" if last != "1" else "2")


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor(PIISettings())


def test_helpers_agree_with_the_test_computations() -> None:
    assert ID_1990[-1] == id_check_char(ID_1990[:17])
    assert ID_X[-1] == "X" and id_check_char(ID_X[:17]) == "X"
    assert luhn_ok(VISA) and luhn_ok(UNIONPAY_19) and luhn_ok("4111 1111 1111 1111")
    assert not luhn_ok(bad_check(VISA))


# --- each kind, positive ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "phone",
    [
        "13800138000",
        "138-0013-8000",
        "138 0013 8000",
        "+86 139 1234 5678",
        "+8613912345678",
        "0086-13912345678",
        "(+86)13912345678",
        "010-12345678",
        "0755-1234567",
        "(0755)12345678",
        "+86 10 87654321",
        "555-0134",
        "(415) 555-0134",
        "415-555-0134",
        "415.555.0134",
        "+1 415 555 0134",
        "+14155550134",
        "+44 20 7946 0958",
        "+44 7911 123456",
        "+44 (0)20 7946 0958",
        "+852 2345 6789",
    ],
)
def test_phone_numbers_in_english_and_chinese(redactor: Redactor, phone: str) -> None:
    english = redactor.redact(f"Sure, you can reach me at {phone}. Thanks!")
    assert english.text == "Sure, you can reach me at [PHONE]. Thanks!"
    assert english.found == {"phone": 1}
    chinese = redactor.redact(f"我的电话是{phone}，谢谢")
    assert chinese.text == "我的电话是[PHONE]，谢谢"


def test_the_chinese_example_sentence(redactor: Redactor) -> None:
    result = redactor.redact(f"我的手机号是13800138000，身份证号{ID_1990}")
    assert result.text == "我的手机号是[PHONE]，身份证号[ID_NUMBER]"
    assert result.found == {"phone": 1, "id_number": 1}


@pytest.mark.parametrize(
    "id_number",
    [
        ID_1990,
        ID_X,
        ID_X.lower(),
        f"{ID_1990[:6]} {ID_1990[6:14]} {ID_1990[14:]}",
        "110101900307757",
    ],
)
def test_id_numbers(redactor: Redactor, id_number: str) -> None:
    assert redactor.redact(f"身份证号码{id_number}。").text == "身份证号码[ID_NUMBER]。"
    assert redactor.redact(f"My ID is {id_number}, ok").text == "My ID is [ID_NUMBER], ok"


@pytest.mark.parametrize(
    "card",
    [
        VISA,
        f"{VISA[:4]} {VISA[4:8]} {VISA[8:12]} {VISA[12:]}",
        f"{VISA[:4]}-{VISA[4:8]}-{VISA[8:12]}-{VISA[12:]}",
        UNIONPAY_19,
        " ".join(
            [
                UNIONPAY_19[:4],
                UNIONPAY_19[4:8],
                UNIONPAY_19[8:12],
                UNIONPAY_19[12:16],
                UNIONPAY_19[16:],
            ]
        ),
        "3782 822463 10005",  # Amex test number, 4-6-5
    ],
)
def test_bank_cards(redactor: Redactor, card: str) -> None:
    assert redactor.redact(f"卡号是{card}，请退款").text == "卡号是[BANK_CARD]，请退款"
    assert redactor.redact(f"my card number is {card}.").text == "my card number is [BANK_CARD]."


def test_card_ending_digits_are_not_redacted(redactor: Redactor) -> None:
    text = "The card ending 4821 was charged; 尾号4821的卡"
    assert redactor.redact(text).text == text


@pytest.mark.parametrize("email", ["zhang.san@example.com", "li_si+calls@mail.example.com.cn"])
def test_emails(redactor: Redactor, email: str) -> None:
    assert redactor.redact(f"邮箱是{email}吗？").text == "邮箱是[EMAIL]吗？"
    assert redactor.redact(f"Write to <{email}>.").text == "Write to <[EMAIL]>."


def test_an_email_made_of_a_phone_number_is_one_email(redactor: Redactor) -> None:
    result = redactor.redact("QQ邮箱13800138000@qq.com")
    assert result.text == "QQ邮箱[EMAIL]"
    assert result.found == {"email": 1}


def test_full_width_digits_from_chinese_input_methods(redactor: Redactor) -> None:
    assert redactor.redact("手机１３８００１３８０００").text == "手机[PHONE]"


# --- look-alikes, negative -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Your order MO-58213 has shipped.",
        "订单号20261103001已发货",
        "order number 20261103001",
        "order 5550134 was refunded",  # a 7-digit order number
        "订单5550134",
        "The total was $389, refund ¥1299.00 and 389元",
        "Delivered on 2026-10-03 at 10:30, 2026年10月3日 10:30:45",
        "Call started 2026-10-03T10:30:00Z",
        "Tracking SF1234567890123 and JD0012345678901",
        "order 2026110300123456 placed",  # 16 digits, but no card network starts with 20
        "timestamp 1730000000000",
        bad_check(VISA),  # Luhn fails
        "4111 1111 1111 1112",
        bad_check(ID_1990),  # check character fails
        with_id_check("11010119900230757"),  # 1990-02-30 does not exist
        with_id_check("11010120990101757"),  # born in 2099
        with_id_check("19010119900307757"),  # no province 19
        "card ending 4821",
        "version 1.2.3.4 and 192.168.1.10",  # ipv4 is off by default
        "passport E12345678",  # passport is off by default
    ],
)
def test_look_alikes_are_left_alone(redactor: Redactor, text: str) -> None:
    result = redactor.redact(text)
    assert result.text == text
    assert result.found == {}


@pytest.mark.parametrize(
    ("text", "said", "kind"),
    [
        ("我的手机是幺三八，零零幺三，八零零零。", "幺三八，零零幺三，八零零零", "phone"),
        ("手机号一三九 一二三四 五六七八", "一三九 一二三四 五六七八", "phone"),
        ("号码是138 零零幺三 8000", "138 零零幺三 8000", "phone"),  # digits and words mixed
        ("座机零一零 六二三四 五六七八", "零一零 六二三四 五六七八", "phone"),  # leading 零 kept
        ("my number is one three eight double oh one three eight triple oh, thanks",
         "one three eight double oh one three eight triple oh", "phone"),
        ("It's One Three Eight, double-zero one three, eight oh oh oh.",
         "One Three Eight, double-zero one three, eight oh oh oh", "phone"),
        # An interjection "Oh" joins the run: no check explains 0138..., yet it is redacted.
        ("Oh one three eight, double-zero one three, eight oh oh oh.",
         "Oh one three eight, double-zero one three, eight oh oh oh", "number"),
        ("卡号六二二二 零二一二 三四五六 七八九零 一二", "六二二二 零二一二 三四五六 七八九零 一二",
         "bank_card"),
        ("card four one one one, one one one one, one one one one, one one one one",
         "four one one one, one one one one, one one one one, one one one one", "bank_card"),
        ("身份证一一零一零一一九九零零三零七零零二叉",  # the check character read out
         "一一零一零一一九九零零三零七零零二叉", "id_number"),
        # No check explains them, but 7+ digits read out are too likely personal to send.
        ("call me at four one five, five five five, oh one three four",
         "four one five, five five five, oh one three four", "number"),
        ("订单号一二三四五六七八", "一二三四五六七八", "number"),
    ],
)  # fmt: skip
def test_numbers_read_out_digit_by_digit(
    redactor: Redactor, text: str, said: str, kind: str
) -> None:
    """Spoken digits are where redaction leaks: 幺 两 洞 拐 and "oh", "double", "triple"."""
    result = redactor.redact(text)
    assert result.text == text.replace(said, f"[{kind.upper()}]"), result.text
    assert result.found == {kind: 1}


@pytest.mark.parametrize(
    "text",
    [
        "一共两百块，订单三个，一二三四步都做完了",  # quantities and a short count
        "一百二十三元，两千零二十六年十月",
        "room two oh one at five o'clock, one moment please",
        "I called two or three times, one two three four",
        "第一二三季度",
        "我一下子说了三四五句",
    ],
)
def test_quantities_and_short_counts_read_out_are_left_alone(redactor: Redactor, text: str) -> None:
    assert redactor.redact(text).found == {}


def test_numbers_written_with_separators_stay_apart_from_words_after_them(
    redactor: Redactor,
) -> None:
    """CrossWOZ: three phone numbers and a count. Digit runs joined across the commas (and on
    to 三) once made one [NUMBER] that swallowed the count."""
    text = "电话是010-67012402,010-67013036,010-67028866三个！"
    assert redactor.redact(text).text == "电话是[PHONE],[PHONE],[PHONE]三个！"


def test_a_number_read_out_keeps_its_number_across_forms() -> None:
    redactor = Redactor(PIISettings(placeholder="<{kind}_{n}>"))
    text = "13800138000，也就是幺三八零零幺三八零零零，备用一三九一二三四五六七八"
    assert redactor.redact(text).text == "<PHONE_1>，也就是<PHONE_1>，备用<PHONE_2>"


def test_numbers_glued_to_an_order_prefix_are_not_phones(redactor: Redactor) -> None:
    text = "Orders MO-13800138000 and SO_555-0134"
    assert redactor.redact(text).text == text


# --- counts, placeholders, options -----------------------------------------------------------


def test_found_counts_per_kind(redactor: Redactor) -> None:
    text = (
        f"客户13800138000，备用电话010-12345678，邮箱a@example.com，"
        f"卡{VISA}和{UNIONPAY_19}，身份证{ID_1990}，订单MO-58213"
    )
    result = redactor.redact(text)
    assert result.found == {"phone": 2, "email": 1, "bank_card": 2, "id_number": 1}
    assert result.total == 6
    assert "MO-58213" in result.text


def test_placeholder_format_and_numbering() -> None:
    redactor = Redactor(PIISettings(placeholder="<{kind}_{n}>"))
    result = redactor.redact("13800138000 then 139-1234-5678 then 138-0013-8000 again")
    assert result.text == "<PHONE_1> then <PHONE_2> then <PHONE_1> again"
    assert result.found == {"phone": 3}


def test_only_the_configured_kinds() -> None:
    redactor = Redactor(PIISettings(kinds=["email"]))
    result = redactor.redact("13800138000 a@example.com")
    assert result.text == "13800138000 [EMAIL]"


def test_optional_kinds_ipv4_and_passport() -> None:
    redactor = Redactor(PIISettings(kinds=["ipv4", "passport"]))
    result = redactor.redact(
        "登录IP 192.168.1.10，护照E12345678, G87654321; not 1.2.3.4.5 or 256.1.1.1"
    )
    assert result.text == "登录IP [IPV4]，护照[PASSPORT], [PASSPORT]; not 1.2.3.4.5 or 256.1.1.1"
    assert result.found == {"ipv4": 1, "passport": 2}


def test_extra_patterns_are_redacted_as_custom() -> None:
    redactor = Redactor(PIISettings(extra_patterns=[r"VIP\d{6}", r"会员号\s*\d+"]))
    result = redactor.redact("客户VIP123456，会员号 8899，电话13800138000")
    assert result.text == "客户[CUSTOM]，[CUSTOM]，电话[PHONE]"
    assert result.found == {"custom": 2, "phone": 1}


def test_empty_and_clean_text(redactor: Redactor) -> None:
    assert redactor.redact("").text == ""
    assert redactor.redact("我要退款").found == {}


# --- chat messages ---------------------------------------------------------------------------


def test_redact_messages_redacts_content_and_copies(redactor: Redactor) -> None:
    messages = [
        {"role": "system", "content": "Classify the call."},
        {"role": "user", "content": "客户：我的手机号是13800138000", "name": "call-1"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "mail a@example.com"},
                {"type": "image_url", "image_url": {"url": "x"}},
            ],
        },
        {"role": "assistant", "content": None, "tool_calls": []},
    ]
    out = redactor.redact_messages(messages)
    assert out[0] == messages[0]
    assert out[1] == {"role": "user", "content": "客户：我的手机号是[PHONE]", "name": "call-1"}
    assert out[2]["content"][0] == {"type": "text", "text": "mail [EMAIL]"}
    assert out[2]["content"][1] == messages[2]["content"][1]
    assert out[3] == messages[3]
    assert messages[1]["content"] == "客户：我的手机号是13800138000"  # input untouched


def test_numbering_is_shared_across_messages() -> None:
    redactor = Redactor(PIISettings(placeholder="[{kind}#{n}]"))
    out = redactor.redact_messages(
        [
            {"role": "user", "content": "13800138000"},
            {"role": "user", "content": "13900139000 and 138-0013-8000"},
        ]
    )
    assert [m["content"] for m in out] == ["[PHONE#1]", "[PHONE#2] and [PHONE#1]"]


# --- endpoints -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8000/v1",
        "localhost:11434",
        "http://127.0.0.1:8001/v1",
        "http://127.8.9.10",
        "http://10.1.2.3/v1",
        "http://172.16.0.5:8000",
        "http://192.168.1.20:11434/v1",
        "http://[::1]:8000/v1",
        "http://[fd00::5]/v1",
        "http://vllm:8000/v1",  # a compose service
        "http://gpu-box.local:8000",
    ],
)
def test_local_endpoints_are_not_external(url: str) -> None:
    assert is_external(url) is False


@pytest.mark.parametrize(
    "url",
    [
        "https://api.example.com/v1",
        "https://api.deepseek.com",
        "http://8.8.8.8",
        "http://172.32.0.1",
        None,
        "",
    ],
)
def test_public_endpoints_are_external(url: str | None) -> None:
    assert is_external(url) is True


def test_redactor_for_endpoint() -> None:
    on = PIISettings()
    assert isinstance(redactor_for(on, "https://api.example.com/v1"), Redactor)
    assert redactor_for(on, "http://127.0.0.1:8000/v1") is None
    assert isinstance(
        redactor_for(PIISettings(redact_local_llm=True), "http://localhost/v1"), Redactor
    )
    assert redactor_for(PIISettings(enabled=False), "https://api.example.com/v1") is None


# --- settings --------------------------------------------------------------------------------


def test_settings_defaults_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    pii = load_settings().pii
    assert pii.enabled and not pii.redact_local_llm
    assert pii.kinds == ["phone", "id_number", "bank_card", "email", "number"]
    assert pii.placeholder == "[{kind}]" and pii.extra_patterns == []
    monkeypatch.setenv("PII__KINDS", '["Phone", "ipv4", "phone"]')
    monkeypatch.setenv("PII__EXTRA_PATTERNS", r'["VIP\\d{6}"]')
    pii = load_settings().pii
    assert pii.kinds == ["phone", "ipv4"]
    assert pii.extra_patterns == [r"VIP\d{6}"]


@pytest.mark.parametrize(
    ("pii", "needle"),
    [
        ({"kinds": ["phone", "ssn"]}, "pii.kinds"),
        ({"extra_patterns": ["VIP(\\d+"]}, "pii.extra_patterns"),
        ({"placeholder": "[{type}]"}, "pii.placeholder"),
        ({"placeholder": "[{}]"}, "pii.placeholder"),
        ({"placeholder": ""}, "pii.placeholder"),
    ],
)
def test_invalid_settings(pii: dict, needle: str) -> None:
    with pytest.raises(ConfigError, match="invalid settings") as info:
        load_settings(pii=pii)
    assert needle in str(info.value)
    with pytest.raises(ValidationError):
        PIISettings(**pii)


def test_unvalidated_bad_regex_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="extra_patterns"):
        Redactor(PIISettings.model_construct(extra_patterns=["(unclosed"]))
