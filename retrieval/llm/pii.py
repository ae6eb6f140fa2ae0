"""Redact personal data from text before it is sent to an LLM endpoint.

Calls carry customers' phone numbers, ID numbers, card numbers and e-mail addresses. The
Q&A and classification prompts quote transcripts, so before a prompt leaves for an external
endpoint ``Redactor`` replaces each of those with a placeholder (``[PHONE]``, ``[ID_NUMBER]``).

Kinds (``PIISettings.kinds``):

* ``phone``: mainland mobiles (``138-0013-8000``, ``+86 139 1234 5678``), mainland landlines
  (``010-12345678``, ``0755-1234567``), North American (``555-0134``, ``(415) 555-0134``,
  ``+1 415 555 0134``) and other ``+``-prefixed international numbers (``+44 20 7946 0958``);
* ``id_number``: mainland resident ID numbers, 18 characters with the ISO 7064 MOD 11-2 check
  character, or the legacy 15 digits; both with a real, past birth date and a province code;
* ``bank_card``: 13-19 digits (plain or in groups) with a card-network prefix and a valid
  Luhn check digit (UnionPay 62... included); "card ending 4821" is left alone;
* ``email``;
* any of these read out digit by digit (幺三八零零幺三八零零零, "one three eight double oh…",
  mixed with digits: ``retrieval.llm.spoken_digits``), and ``number``: 7 or more digits read
  out that no check explains (an order number read out is redacted too: leaking is worse);
* ``ipv4`` and ``passport`` (E/G + 8 digits), off by default: version numbers and product codes
  look too much like them;
* ``custom``: every match of ``PIISettings.extra_patterns``.

Precision over order numbers, amounts, dates and times comes from structure (lengths,
separators, prefixes) and from check digits wherever the format has one. Two numbers that pass
every check are still ambiguous: an 11-digit order number that starts like a mobile
(``13800138000``), and a 3-4 digit range written with a dash (``250-1000``) that reads as a
7-digit North American number; both are redacted, since leaking is the worse mistake.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from app.core.config import PIISettings
from app.core.errors import ConfigError
from retrieval.llm.spoken_digits import spoken_runs

# ``\b`` is useless here: Python counts CJK characters as word characters, so there is no
# boundary in "手机号13800138000". These guards say "not glued to an ASCII letter or digit",
# which holds next to CJK characters and punctuation alike.
_LEFT = r"(?<![0-9A-Za-z])"
_RIGHT = r"(?![0-9A-Za-z])"
# Numbers without a check digit also refuse to continue a token joined by - or _ (order
# MO-58213, file call_13800138000) and to follow a currency sign (¥13800 is an amount).
_LEFT_UNCHECKED = r"(?<![0-9A-Za-z+$¥￥€£])(?<![0-9A-Za-z][-_])"

_PHONE = re.compile(
    _LEFT_UNCHECKED
    + r"""
    (?:
        # mainland mobile 1[3-9]x xxxx xxxx, optionally +86 / 0086 / (+86)
        (?:(?:\+|00)86[- ]?|\(\+?86\)[- ]?)?1[3-9]\d(?:[- ]?\d{4}){2}
      | # mainland landline: area code 010 / 02x / 0xxx (or +86 without the 0), 7-8 digits
        (?:(?:\+|00)86[- ]?\(?|\(?0)(?:10|2\d|[3-9]\d{2})\)?[- ]?[1-9]\d{6,7}
      | # North America, ten digits with separators: (415) 555-0134, 415.555.0134, +1 ...
        (?:\+1[-. ]?)?(?:\([2-9]\d{2}\)[ ]?|[2-9]\d{2}[-. ])[2-9]\d{2}[-. ]\d{4}
      | \+1[2-9]\d{2}[2-9]\d{6}
      | # seven digits only with the dash (555-0134): bare, every 7-digit order number matches
        [2-9]\d{2}-\d{4}
      | # other countries only with the +: +44 20 7946 0958, +44 (0)7911 123456, +852 ...
        \+[2-9]\d{0,2}(?:[ ]?\(0\))?(?:[- ]?\d{1,4}){2,5}
    )
    """
    + _RIGHT,
    re.VERBOSE,
)

_ID_NUMBER = re.compile(
    _LEFT
    + r"""
    (?:
        [1-9]\d{5}[- ]?(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])[- ]?\d{3}[0-9Xx]
      | [1-9]\d{5}\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}   # legacy, 15 digits
    )
    """
    + _RIGHT,
    re.VERBOSE,
)

_BANK_CARD = re.compile(
    _LEFT
    + r"""
    (?:
        \d{13,19}
      | \d{4}(?:[- ]\d{4}){3}(?:[- ]\d{1,3})?   # 4-4-4-4 (16), up to 4-4-4-4-3 (19)
      | \d{4}[- ]\d{6}[- ]\d{4,5}               # 4-6-5 (Amex), 4-6-4 (Diners)
      | \d{6}[- ]\d{7,13}                       # 6 + rest, as some Chinese banks print it
    )
    """
    + _RIGHT,
    re.VERBOSE,
)

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"\.[A-Za-z]{2,24}(?![A-Za-z0-9-])"
)

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(
    r"(?<![0-9A-Za-z.])" + _OCTET + r"(?:\." + _OCTET + r"){3}" + r"(?![0-9A-Za-z]|\.\d)"
)

_PASSPORT = re.compile(_LEFT_UNCHECKED + r"(?:[EG]\d{8}|E[A-HJ-NP-Z]\d{7})" + _RIGHT)

# First two digits of mainland ID numbers: provinces, plus 71/81/82/83 (Taiwan, Hong Kong,
# Macau residents) and 91 (foreigners' permanent residence until 2023).
_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 "
    "50 51 52 53 54 61 62 63 64 65 71 81 82 83 91".split()
)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

# Card networks: Visa 4, Mastercard 51-55 / 22-27, Amex/JCB/Diners 3x, Maestro 5x/6x,
# UnionPay 62 / 81, Discover 6x, Chinese domestic 9x. Order numbers starting 1, 20, 7 never pass.
_CARD_PREFIX = re.compile(r"[3-69]|2[2-7]|81")

# Full-width ASCII (１３８, ＠, （）), the ideographic space and Unicode dashes, folded 1:1 to
# ASCII so Chinese input methods' characters match the patterns; offsets stay the same.
_FOLD = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}
_FOLD.update({0x3000: ord(" "), 0xFFE5: ord("¥"), 0x2212: ord("-")})
_FOLD.update({c: ord("-") for c in range(0x2010, 0x2016)})


def _digits(s: str) -> str:
    return "".join(c for c in s if c.isdigit())


def luhn_ok(number: str) -> bool:
    """True when the digits of ``number`` pass the Luhn (mod 10) check."""
    digits = [int(c) for c in _digits(number)]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return bool(digits) and total % 10 == 0


def id_check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of an 18-character ID number's first 17 digits."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def _birth_date_ok(year: int, month: int, day: int) -> bool:
    try:
        born = date(year, month, day)
    except ValueError:  # 19900230 and the like
        return False
    return date(1900, 1, 1) <= born <= date.today()


def _valid_id_number(match: str) -> bool:
    s = match.replace(" ", "").replace("-", "").upper()
    if s[:2] not in _PROVINCES:
        return False
    if len(s) == 15:
        return _birth_date_ok(1900 + int(s[6:8]), int(s[8:10]), int(s[10:12]))
    return (
        _birth_date_ok(int(s[6:10]), int(s[10:12]), int(s[12:14]))
        and id_check_char(s[:17]) == s[17]
    )


def _valid_bank_card(match: str) -> bool:
    digits = _digits(match)
    return 13 <= len(digits) <= 19 and bool(_CARD_PREFIX.match(digits)) and luhn_ok(digits)


def _valid_phone(match: str) -> bool:
    # Only the free-form international alternative can come out too short or too long;
    # E.164 allows at most 15 digits, and fewer than 8 is not a whole number.
    return not match.startswith("+") or 8 <= len(_digits(match)) <= 15


@dataclass(frozen=True)
class _Detector:
    kind: str
    pattern: re.Pattern[str]
    valid: Callable[[str], bool] | None = None


#: The kinds a number read out digit by digit can be (``spoken_digits``).
_SPOKEN_KINDS = frozenset({"phone", "id_number", "bank_card"})

# The order breaks ties between equally long overlapping matches: checked formats first.
_BUILTIN: tuple[_Detector, ...] = (
    _Detector("email", _EMAIL),
    _Detector("id_number", _ID_NUMBER, _valid_id_number),
    _Detector("bank_card", _BANK_CARD, _valid_bank_card),
    _Detector("phone", _PHONE, _valid_phone),
    _Detector("passport", _PASSPORT),
    _Detector("ipv4", _IPV4),
)


@dataclass(frozen=True)
class Redaction:
    """A redacted text and how many values of each kind were replaced."""

    text: str
    found: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.found.values())


class Redactor:
    """Replace personal data with placeholders; built from ``PIISettings``."""

    def __init__(self, settings: PIISettings | None = None, *, spoken: bool = True) -> None:
        """Compile the detectors of ``settings.kinds`` and ``settings.extra_patterns``;
        ``spoken=False`` leaves numbers read out digit by digit alone (the patterns on digits
        only, as ``eval.bench_pii`` compares).

        ``PIISettings`` validates both already; a ``ConfigError`` here only means settings built
        without validation (``model_construct``).
        """
        self.settings = settings or PIISettings()
        kinds = set(self.settings.kinds)
        self._detectors = [d for d in _BUILTIN if d.kind in kinds]
        #: Whether numbers read out digit by digit are looked for (a kind that has them is on).
        self._spoken = spoken and bool(kinds & (_SPOKEN_KINDS | {"number"}))
        for pattern in self.settings.extra_patterns:
            try:
                self._detectors.append(_Detector("custom", re.compile(pattern)))
            except re.error as exc:
                raise ConfigError(f"pii.extra_patterns: bad regex {pattern!r}: {exc}") from exc

    def redact(self, text: str) -> Redaction:
        """Return ``text`` with every detected value replaced by its placeholder."""
        return self._redact(text, {})

    def redact_messages(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Redact the ``content`` of OpenAI-style chat messages; returns new dicts.

        String contents and the ``text`` of ``{"type": "text"}`` parts are redacted; other
        fields and parts (roles, images, tool calls) are copied as they are. With ``{n}`` in the
        placeholder, a value keeps its number across all the messages.
        """
        return self.redact_messages_counted(messages)[0]

    def redact_messages_counted(
        self, messages: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], dict[str, int]]:
        """``redact_messages``, plus how many values of each kind were replaced in all.

        The counts travel with an answer (``Answer.redactions``) so staff can see that a
        prompt was redacted before it left, and for what.
        """
        numbering: dict[str, dict[str, int]] = {}
        found: dict[str, int] = {}

        def redact(text: str) -> str:
            result = self._redact(text, numbering)
            for kind, n in result.found.items():
                found[kind] = found.get(kind, 0) + n
            return result.text

        out = []
        for message in messages:
            new = dict(message)
            content = message.get("content")
            if isinstance(content, str):
                new["content"] = redact(content)
            elif isinstance(content, list):
                new["content"] = [_redact_part(part, redact) for part in content]
            out.append(new)
        return out, found

    def _redact(self, text: str, numbering: dict[str, dict[str, int]]) -> Redaction:
        if not text or not (self._detectors or self._spoken):
            return Redaction(text)
        probe = text.translate(_FOLD)
        # (start, end, rank, kind, the value's identity for {n})
        spans: list[tuple[int, int, int, str, str]] = []
        for rank, detector in enumerate(self._detectors):
            for m in detector.pattern.finditer(probe):
                if m.end() > m.start() and (detector.valid is None or detector.valid(m.group())):
                    value = _normalise(detector.kind, m.group())
                    spans.append((m.start(), m.end(), rank, detector.kind, value))
        if self._spoken:
            spans += self._spoken_spans(probe)
        # Overlaps (an e-mail made of a phone number, a card read as two phones): the longest
        # match explains the most text, so it wins; then the detector order.
        spans.sort(key=lambda s: (s[0] - s[1], s[2], s[0]))
        chosen: list[tuple[int, int, int, str, str]] = []
        for span in spans:
            if all(span[1] <= c[0] or span[0] >= c[1] for c in chosen):
                chosen.append(span)
        chosen.sort()

        parts: list[str] = []
        found: dict[str, int] = {}
        pos = 0
        for start, end, _, kind, value in chosen:
            per_kind = numbering.setdefault(kind, {})
            n = per_kind.setdefault(value, len(per_kind) + 1)
            parts += [text[pos:start], self.settings.placeholder.format(kind=kind.upper(), n=n)]
            found[kind] = found.get(kind, 0) + 1
            pos = end
        parts.append(text[pos:])
        return Redaction("".join(parts), found)

    def _spoken_spans(self, probe: str) -> list[tuple[int, int, int, str, str]]:
        """Numbers read out digit by digit (``spoken_digits``): the checked detectors run on
        each run's digits and their matches are mapped back to the words; a run none of them
        explains is still a ``number`` (an unchecked number of 7 digits or more read out is
        too likely personal to send: leaking is the worse mistake)."""
        out: list[tuple[int, int, int, str, str]] = []
        last = len(self._detectors) + 1
        for run in spoken_runs(probe):
            explained = False
            for rank, detector in enumerate(self._detectors):
                if detector.kind not in _SPOKEN_KINDS:
                    continue
                for m in detector.pattern.finditer(run.digits):
                    if detector.valid is None or detector.valid(m.group()):
                        start, end = run.span_of(m.start(), m.end() - 1)
                        out.append((start, end, rank, detector.kind, m.group()))
                        explained = True
            if not explained and "number" in self.settings.kinds:
                start, end = run.span_of(0, len(run.digits) - 1)
                out.append((start, end, last, "number", run.digits))
        return out


def _normalise(kind: str, value: str) -> str:
    """The identity of a value for ``{n}``: 138-0013-8000 and 13800138000 are one number."""
    if kind in ("phone", "bank_card"):
        return _digits(value)
    if kind in ("id_number", "passport"):
        return value.replace(" ", "").replace("-", "").upper()
    return value.lower() if kind == "email" else value


def _redact_part(part: Any, redact: Callable[[str], str]) -> Any:
    if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
        return {**part, "text": redact(part["text"])}
    return part


# Host names that never leave the machine or the private network.
_LOCAL_NAMES = frozenset({"localhost", "host.docker.internal", "ip6-localhost", "ip6-loopback"})
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa")


def is_external(base_url: str | None) -> bool:
    """True unless ``base_url`` points at this machine or a private network.

    Local: loopback, private and link-local addresses (127.x, 10.x, 172.16-31.x, 192.168.x,
    ::1, fc00::/7, fe80::/10), ``localhost``, single-label names such as a compose service
    (``http://vllm:8000/v1``) and ``.local`` / ``.internal`` / ``.lan`` names. Names are judged
    as written, never resolved: DNS may change, and an unknown name is treated as external.
    A missing or unparsable URL is external too, so the safe answer is the default.
    """
    if not base_url or not base_url.strip():
        return True
    url = base_url.strip()
    if "://" not in url:  # "localhost:11434" would otherwise parse as scheme "localhost"
        url = "//" + url
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return True
    if not host:
        return True
    host = host.rstrip(".").lower()
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])  # fe80::1%eth0 carries a zone
    except ValueError:
        return not (host in _LOCAL_NAMES or host.endswith(_LOCAL_SUFFIXES) or "." not in host)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (ip.is_loopback or ip.is_private or ip.is_link_local)


def redactor_for(settings: PIISettings, base_url: str | None) -> Redactor | None:
    """The Redactor to apply to prompts for the endpoint at ``base_url``, or None.

    None when redaction is off, or when the endpoint is local and ``redact_local_llm`` is
    false: then the data stays on machines the customer controls anyway.
    """
    if not settings.enabled:
        return None
    if not settings.redact_local_llm and not is_external(base_url):
        return None
    return Redactor(settings)
