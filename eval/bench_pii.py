"""Personal numbers in transcripts, as digits and as read out (issue 27's first measure): the
prompt redactor with spoken digits against the plain patterns it had (the same checks on
digits only), in the same run.

* **Recall**, per kind and form: mobile and landline numbers, 18-digit ID numbers (valid check
  character) and UnionPay cards (valid Luhn digit), generated at random (``--n`` of each), put
  in Chinese and English call sentences as digits, read out in Chinese (幺 for 1 and 两 for 2
  at random, groups split by spaces or commas as ASR writes them), read out in English ("oh",
  "double", "triple"), and half digits half words. A value counts as found when all of it
  became one placeholder and nothing else of the sentence changed; ``_as_kind`` when that
  placeholder also names its kind (a phone as [PHONE], not [NUMBER]).
* **False redactions**, on text we did not write: every turn of the 500 CrossWOZ conversations
  of ``../shared/data/crosswoz_retrieval_dev`` (read at run time, never copied: prices, ratings,
  times, the phone numbers of hotels and sights) and the demo's calls: how many values each
  method redacts, and every extra one the spoken digits add, listed for reading; and a list of
  quantities, dates, times and counts read out (written for this benchmark) that must stay.

    python -m eval.bench_pii --json docs/bench_pii.json
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from eval.retrieval import read_jsonl
from retrieval.llm.pii import Redactor, id_check_char, luhn_ok

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
CROSSWOZ = SHARED / "crosswoz_retrieval_dev" / "corpus.jsonl"
DEMO = Path(__file__).resolve().parents[1] / "app" / "demo" / "calls.jsonl"

_ZH = dict(zip("0123456789", "零一二三四五六七八九", strict=True))
_EN = dict(zip("0123456789", "zero one two three four five six seven eight nine".split(),
               strict=True))  # fmt: skip
SENTENCES = {
    "zh": ["我的{what}是{value}，麻烦您记一下。", "好的，{what}{value}，对吗？",
           "您再核对一下，{what}：{value}。"],
    "en": ["My {what} is {value}, please note it down.", "Okay, the {what} is {value}, right?",
           "Let me confirm the {what}: {value}."],
}  # fmt: skip
WHAT = {
    "mobile": ("手机号", "phone number"),
    "landline": ("座机", "landline"),
    "id_number": ("身份证号", "ID number"),
    "bank_card": ("卡号", "card number"),
}
#: Read out, must stay: quantities, dates, times, counts, short codes.
KEEP = [
    "一共两百三十块，运费十二元。", "我买了三个，又退了两个。",
    "二零二六年十月三号下午三点半到的。",
    "第一二三季度的账单都有问题。", "您说的是一二三四步吗？", "房间号是两零一，在三楼。",
    "验证码是四五六七，请勿告诉他人。", "我一下子打了三四个电话。", "评分四点五分，人均三百。",
    "It cost two hundred and thirty dollars.", "I called two or three times on the fifth.",
    "Room two oh one, on the third floor.", "The code is four five six seven.",
    "We open at nine and close at five o'clock.", "Order one of the two, not three.",
    "It was nineteen ninety nine, or two thousand.", "One moment, two more questions.",
]  # fmt: skip
FORMS = ("digits", "zh_spoken", "en_spoken", "mixed")


def mobile(rand: random.Random) -> str:
    return f"1{rand.choice('3456789')}{rand.randint(0, 9)}" + "".join(
        str(rand.randint(0, 9)) for _ in range(8)
    )


def landline(rand: random.Random) -> str:
    area = rand.choice(["010", "021", "020", "0755", "0571", "028"])
    return area + str(rand.randint(2, 9)) + "".join(str(rand.randint(0, 9)) for _ in range(7))


def id_number(rand: random.Random) -> str:
    province = rand.choice(["11", "31", "44", "33", "51", "42"])
    born = f"{rand.randint(1950, 2005)}{rand.randint(1, 12):02d}{rand.randint(1, 28):02d}"
    head = province + f"{rand.randint(0, 9999):04d}" + born + f"{rand.randint(0, 999):03d}"
    return head + id_check_char(head)


def bank_card(rand: random.Random) -> str:
    body = "62" + "".join(str(rand.randint(0, 9)) for _ in range(rand.choice([13, 16])))
    return next(body + d for d in "0123456789" if luhn_ok(body + d))


def groups(value: str, rand: random.Random) -> list[str]:
    """How a person reads a number: in groups of 3-4."""
    out, at = [], 0
    while at < len(value):
        size = rand.choice([3, 4, 4])
        out.append(value[at : at + size])
        at += size
    return out


def zh_spoken(value: str, rand: random.Random) -> str:
    def say(c: str) -> str:
        if c == "X":
            return "叉"
        if c == "1" and rand.random() < 0.5:
            return "幺"
        if c == "2" and rand.random() < 0.3:
            return "两"
        return _ZH[c]

    return rand.choice([" ", "，", ""]).join(
        "".join(say(c) for c in g) for g in groups(value, rand)
    )


def en_spoken(value: str, rand: random.Random) -> str:
    words: list[str] = []
    i = 0
    while i < len(value):
        c = value[i]
        run = 1
        while i + run < len(value) and value[i + run] == c and run < 3:
            run += 1
        word = "x" if c == "X" else ("oh" if c == "0" and rand.random() < 0.6 else _EN[c])
        if run >= 2 and c != "X" and rand.random() < 0.7:
            words.append(f"{'double' if run == 2 else 'triple'} {word}")
            i += run
        else:
            words.append(word)
            i += 1
    return rand.choice([" ", ", "]).join(words)


def mixed(value: str, rand: random.Random) -> str:
    half = len(value) // 2
    return value[:half] + " " + zh_spoken(value[half:], rand)


def render(form: str, value: str, rand: random.Random) -> str:
    if form == "digits":
        return value
    return {"zh_spoken": zh_spoken, "en_spoken": en_spoken, "mixed": mixed}[form](value, rand)


def recall(n: int, seed: int) -> dict[str, Any]:
    rand = random.Random(seed)
    makers = {"mobile": mobile, "landline": landline, "id_number": id_number,
              "bank_card": bank_card}  # fmt: skip
    # plain: the same patterns and checks on digits alone (what the redactor had before).
    methods = {"plain": Redactor(spoken=False), "product": Redactor()}
    found: dict[str, Counter[str]] = {
        m: Counter() for name in methods for m in (name, f"{name}_as_kind")
    }
    total: Counter[str] = Counter()
    for kind, make in makers.items():
        for _ in range(n):
            value = make(rand)
            for form in FORMS:
                said = render(form, value, rand)
                lang = "en" if form == "en_spoken" else rand.choice(["zh", "en"])
                what = WHAT[kind][0 if lang == "zh" else 1]
                template = rand.choice(SENTENCES[lang])
                text = template.format(what=what, value=said)
                # Found: the value, all of it, is one placeholder and nothing else changed.
                head, tail = template.format(what=what, value="\n").split("\n")
                want = re.compile(re.escape(head) + r"\[[A-Z_]+\]" + re.escape(tail))
                label = {"mobile": "PHONE", "landline": "PHONE"}.get(kind, kind.upper())
                named = re.compile(re.escape(head) + rf"\[{label}\]" + re.escape(tail))
                total[f"{kind}/{form}"] += 1
                for name, redactor in methods.items():
                    out = redactor.redact(text).text
                    if want.fullmatch(out):
                        found[name][f"{kind}/{form}"] += 1
                    if named.fullmatch(out):
                        found[f"{name}_as_kind"][f"{kind}/{form}"] += 1
    return {
        cell: {"n": total[cell], **{m: round(found[m][cell] / total[cell], 3) for m in found}}
        for cell in sorted(total)
    }


def false_redactions() -> dict[str, Any]:
    plain, product = Redactor(spoken=False), Redactor()
    texts = [r["text"] for r in read_jsonl(CROSSWOZ, ("id", "text"))]
    for line in DEMO.read_text(encoding="utf-8").splitlines():
        texts += [t["text"] for t in json.loads(line)["turns"]]
    counts = {"plain": Counter[str](), "product": Counter[str]()}
    added = []
    for text in texts:
        a, b = plain.redact(text), product.redact(text)
        counts["plain"].update(a.found)
        counts["product"].update(b.found)
        if b.found != a.found:
            added.append({"text": text, "plain": a.text, "product": b.text})
    keep = [{"text": t, "product": product.redact(t).text} for t in KEEP]
    return {
        "turns": len(texts),
        "redacted": {m: dict(c) for m, c in counts.items()},
        "changed_by_spoken_digits": added,
        "must_stay": len(KEEP),
        "must_stay_redacted": [k for k in keep if k["product"] != k["text"]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200, help="Values of each kind.")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    out = {"recall": recall(args.n, args.seed), "false": false_redactions()}
    text = json.dumps(out, ensure_ascii=False, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    print(json.dumps(out["recall"], ensure_ascii=False), file=sys.stderr)


if __name__ == "__main__":
    main()
