"""Numbers read out digit by digit, as a transcript writes them: 幺三八零零幺三八零零零,
"one three eight double oh one three eight triple oh", 卡号六二二二 零二一二… Spoken digit
strings are where redaction leaks (docs/dev/pii-options.md): the patterns and check digits of
``retrieval.llm.pii`` see no digits in them.

:func:`spoken_runs` finds each run of at least :data:`MIN_DIGITS` spoken digits (Chinese digit
characters with their call-centre readings 幺 两 洞 拐 勾, English digit words with "oh",
"double", "triple", and Arabic digits mixed in, separated by spaces or light punctuation) and
gives its digits with, for each digit, where in the text it was said, so a detector that
matches the digits can be mapped back to the words. A quantity is not a run: 一百二十三, 两百块,
"twenty three" hold 百 / 十 / "twenty", which are not digits; 一共 and "one moment" hold one.
An 18-digit ID's last character may be read 叉 or "x".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: The fewest digits a run holds (a year, a PIN or a room number hold fewer; every number the
#: detectors look for holds at least 7).
MIN_DIGITS = 7

_ZH = {
    "零": "0", "〇": "0", "洞": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3",
    "四": "4", "五": "5", "六": "6", "七": "7", "拐": "7", "八": "8", "九": "9", "勾": "9",
}  # fmt: skip
_EN = {
    "zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
_REPEAT = {"double": 2, "triple": 3}
#: One token: an English digit word (or double/triple before one), a Chinese digit character,
#: an Arabic digit, or an ID's check character read out (叉, x: kept only at a run's end).
_TOKEN = re.compile(
    r"(?P<repeat>double|triple)[ \-]+(?P<repeated>zero|oh|o|one|two|three|four|five|six|seven"
    r"|eight|nine|\d)(?![A-Za-z])"
    r"|(?<![A-Za-z])(?P<en>zero|oh|o|one|two|three|four|five|six|seven|eight|nine)(?![A-Za-z])"
    r"|(?P<zh>[零〇洞一幺二两三四五六七拐八九勾])"
    r"|(?P<digit>\d)"
    r"|(?P<x>叉|(?<![A-Za-z])x(?![A-Za-z]))",
    re.IGNORECASE,
)
#: What may stand between two digits of one run: spaces and light punctuation.
_GAP = re.compile(r"[\s,，、.。\-–—]{0,3}")


@dataclass(frozen=True)
class SpokenRun:
    #: The digits said (``X`` for a read-out check character).
    digits: str
    #: For each digit: (start, end) of the words that said it in the text.
    spans: tuple[tuple[int, int], ...]
    #: Whether any digit was a word (a run of Arabic digits alone is the patterns' to find).
    spoken: bool

    def span_of(self, first: int, last: int) -> tuple[int, int]:
        """Where in the text digits ``first``..``last`` (inclusive) were said."""
        return self.spans[first][0], self.spans[last][1]


def spoken_runs(text: str) -> list[SpokenRun]:
    """Every run of at least :data:`MIN_DIGITS` digits said one by one in ``text``."""
    runs: list[SpokenRun] = []
    digits: list[str] = []
    spans: list[tuple[int, int]] = []
    spoken = False
    at = 0
    #: Whether the last token was an Arabic digit: digits written with separators between
    #: them (010-67012402, 010-67013036) are the patterns' numbers, never joined into a run.
    arabic = False

    def close() -> None:
        nonlocal digits, spans, spoken
        if len(digits) >= MIN_DIGITS and spoken:
            runs.append(SpokenRun("".join(digits), tuple(spans), spoken))
        digits, spans, spoken = [], [], False

    while True:
        m = _TOKEN.search(text, at)
        if m is None:
            break
        joined = m.start() == at
        if digits and not _GAP.fullmatch(text, at, m.start()):
            close()
        elif digits and arabic and m.group("digit") and not joined:
            close()
        arabic = bool(m.group("digit"))
        if m.group("repeat"):
            word = m.group("repeated").lower()
            digit = _EN.get(word, word)
            count = _REPEAT[m.group("repeat").lower()]
            digits += [digit] * count
            spans += [(m.start(), m.end())] * count
            spoken = True
        elif m.group("en"):
            digits.append(_EN[m.group("en").lower()])
            spans.append((m.start(), m.end()))
            spoken = True
        elif m.group("zh"):
            digits.append(_ZH[m.group("zh")])
            spans.append((m.start(), m.end()))
            spoken = True
        elif m.group("digit"):
            digits.append(m.group("digit"))
            spans.append((m.start(), m.end()))
        elif len(digits) == 17:  # x / 叉 read as an 18-digit ID's check character
            digits.append("X")
            spans.append((m.start(), m.end()))
            close()
        else:  # a letter x anywhere else ends the run
            close()
        at = m.end()
    if digits:
        close()
    return runs
