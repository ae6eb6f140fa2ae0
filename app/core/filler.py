"""Turns that say nothing about what a call is about, in English and Chinese.

Two tests, because content-free turns come in two kinds:

- **Filler** (:func:`is_filler`), told from the text alone: acknowledgements and courtesies
  ("OK, thanks, bye.", "好的，麻烦你了。", "行吧，那就这样。") and the shapes of greetings and
  closings ("Thank you for calling <Company>, my name is <Name>, how can I help?",
  "欢迎致电<公司>，我是客服<名字>", "祝您生活愉快，再见"). What is left of a turn once those are
  taken out decides: no word that is not filler, no number, at most one Chinese character.
- **Boilerplate** (:class:`Boilerplate`), learned from the calls themselves: lines that recur in
  most calls, whatever they say (a company greeting the patterns do not know, a closing script,
  a legal notice). A line is cut into shingles (three words, or five Chinese characters, in a
  row); a shingle is common when more than half of the calls of one language say it (a
  Chinese-first call centre's English greeting is in a fifth of its calls, but in every English
  one); a line is boilerplate when half or more of its shingles are common. The agent's name
  or number in a greeting changes from call to call, so only a few of its shingles are rare:
  the line still counts.

Search ranks these turns after the ones with content (and Ask does not cite them when anything
else was found), topic discovery leaves them out of the call vectors and the terms, and a call's
vector and opening (what the classification vote compares) are built without filler.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

#: ``Customer: `` / ``坐席：`` before a turn's words (how turns are stored and shown).
_SPEAKER = re.compile(r"^\s*[^\s:：]{1,20}[:：]\s*")
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_CHAR = re.compile(f"[{_CJK}]")
_STOP = r"[，。！？、；,.!?;]"
#: A company or person's name as transcripts write it: capitalised words (and ``&``).
_NAME = r"(?:\s+(?:[A-Z][\w'.-]*|&)){1,4}"

#: Greetings and closings (English), removed before the content test. Case-insensitive except
#: the names, which must be capitalised: "thank you for calling about my refund" keeps "refund".
_EN_SCRIPT = re.compile(
    "|".join(
        [
            rf"(?i:thank(?:s| you)(?: (?:so|very) much)? for (?:calling|contacting|choosing))"
            rf"(?:{_NAME})?",
            rf"(?i:welcome to){_NAME}",
            rf"(?i:my name is|this is|you(?:'re| are) speaking (?:to|with)|you'?ve reached)"
            rf"{_NAME}",
            r"(?i:how (?:can|may|could) (?:i|we) (?:help|assist)(?: you)?(?: today)?)",
            r"(?i:what can i do for you(?: today)?)",
            r"(?i:is there anything else(?: (?:i|we) can (?:help|do|assist)(?: you)?"
            r"(?: with)?(?: today)?)?)",
            r"(?i:have a (?:nice|good|great|lovely|wonderful) (?:day|evening|weekend|one))",
            r"(?i:thank(?:s| you)(?: (?:so|very) much)? for (?:your )?"
            r"(?:patience|time|holding|waiting))",
            r"(?i:good (?:morning|afternoon|evening))",
            r"(?i:(?:please )?hold (?:on|the line)(?: please)?|one moment(?: please)?"
            r"|bear with me)",
        ]
    )
)
#: Words that carry no content on their own: acknowledgements, courtesies, pronouns and the
#: function words they come with.
_EN_FILLER = frozenset(
    """
    yes yeah yep yup ya no nope nah ok okay k alright right sure fine good great perfect lovely
    wonderful excellent awesome cool nice brilliant thanks thank thankyou cheers please welcome
    hello hi hey hiya bye goodbye byebye um uh uhm erm er hmm hm mm mhm mmhmm ah aha oh ooh wow
    huh sorry pardon excuse i me my you your we us our it its that this the a an and or but so
    then well just of to for in on at by with as too very much really also again there here
    all that's thats it's im i'm you're we're i'll we'll you'll it'll i've we've ll ve re s t d
    m is are was were be been am do does did have has had will would can could shall should
    may might must let lets let's see got understood understand noted sounds everything
    anything nothing else today day take care talk speak soon now later for now again indeed
    exactly absolutely definitely certainly course of fair
    """.split()
)
#: Greetings and closings (Chinese), removed before the content test.
_ZH_SCRIPT = re.compile(
    "|".join(
        [
            r"欢迎(?:致电|来电|拨打)[^，。！？,.!?\s]{0,12}",
            r"(?:感谢|谢谢)(?:您的?|你的?)?(?:致电|来电|耐心等待|等待|支持|配合)"
            r"[^，。！？,.!?\s]{0,12}",
            rf"我是(?:客服|坐席|工号)?[^，。！？,.!?\s]{{0,4}}(?={_STOP}|\s|$)",
            r"工号\s*\d+\s*号?",
            r"(?:请问)?(?:有什么|有啥)(?:可以|能|需要)?(?:帮|为|帮助)(?:您|你)(?:的|服务的)?(?:吗)?",
            r"(?:请问)?(?:还有|还需要)(?:其他|别的|什么)[^，。！？,.!?]{0,10}吗",
            r"祝(?:您|你)[^，。！？,.!?]{0,10}",
            r"(?:很高兴|竭诚|将)为(?:您|你)服务",
            r"请(?:您)?(?:稍等|稍候)(?:一下)?",
        ]
    )
)
#: Chinese courtesies and acknowledgements (longest first when matched).
_ZH_FILLER = """
    好的 好吧 好嘞 好呀 好 嗯嗯 嗯 哦 噢 喔 啊 呃 额 哎 诶 唉 对对 对的 对 是的 是啊 是
    行吧 行 可以 没问题 谢谢您 谢谢你 谢谢 多谢 感谢 麻烦你了 麻烦您了 麻烦了
    那就这样吧 那就这样 就这样 这样啊 这样 那好 那行 没有了 没有 没了 没事了 没事 不客气 不用谢
    再见 拜拜 知道了 明白了 明白 收到 了解 辛苦了 您好 你好 喂 请问 稍等 等一下 请讲 您说 你说
    吧 呀 啦 了 的 呢 吗 那
""".split()
_ZH_WORDS = re.compile("|".join(sorted(map(re.escape, _ZH_FILLER), key=len, reverse=True)))
_LATIN = re.compile(r"[a-z][a-z']*|\d+")


def words_of(text: str) -> str:
    """A turn's words without the ``Speaker:`` in front (how it was stored or shown)."""
    return _SPEAKER.sub("", text, count=1)


def is_filler(text: str) -> bool:
    """Whether a turn (``Speaker: words`` or just words) says nothing beyond courtesies,
    acknowledgements and the greeting or closing script: nothing a question, a topic or a call
    reason could be about. An empty turn is filler."""
    rest = unicodedata.normalize("NFKC", words_of(text))
    rest = _ZH_SCRIPT.sub(" ", _EN_SCRIPT.sub(" ", rest))
    rest = _ZH_WORDS.sub(" ", rest)
    if len(_CJK_CHAR.findall(rest)) > 1:
        return False
    return all(w in _EN_FILLER for w in _LATIN.findall(rest.lower()) if not w.isdigit()) and not (
        any(w.isdigit() for w in _LATIN.findall(rest))
    )


# ---------------------------------------------------------------------------- boilerplate

_TOKEN = re.compile(f"[{_CJK}]|[^\\W\\d_]+|\\d+")
#: Tokens per shingle: three words, or five Chinese characters (about two or three words: three
#: characters, "的电话", "门票是", recur in most calls that ask about any phone number or ticket).
SHINGLE = 3
SHINGLE_CJK = 5


def shingles(line: str) -> set[tuple[str, ...]]:
    """The line's runs of :data:`SHINGLE` tokens (Latin words lower-cased, numbers as ``0``,
    each Chinese character a token; :data:`SHINGLE_CJK` when most tokens are Chinese); a
    shorter line is one shingle."""
    tokens = [
        "0" if t.isdigit() else t
        for t in _TOKEN.findall(unicodedata.normalize("NFKC", words_of(line)).lower())
    ]
    cjk = sum(1 for t in tokens if _CJK_CHAR.fullmatch(t))
    size = SHINGLE_CJK if 2 * cjk > len(tokens) else SHINGLE
    if len(tokens) <= size:
        return {tuple(tokens)} if tokens else set()
    return {tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}


@dataclass(frozen=True)
class Boilerplate:
    """What recurs across a set of calls (:meth:`learn`); :meth:`__contains__` tests a line."""

    common: frozenset[tuple[str, ...]]
    #: How many calls it was learned from.
    calls: int

    #: A shingle is common when more than this share of the calls say it, and at least
    #: :data:`LEAST` calls do; fewer calls than :data:`LEAST` teach nothing.
    SHARE = 0.5
    LEAST = 4
    #: A line is boilerplate when at least this share of its shingles are common (a name in
    #: the middle of a short greeting makes three of its seven shingles rare).
    LINE_SHARE = 0.5

    @classmethod
    def learn_by_language(cls, calls: Iterable[tuple[str | None, Sequence[str]]]) -> Boilerplate:
        """From ``(language, lines)`` pairs: what most calls of each language share."""
        groups: dict[str | None, list[Sequence[str]]] = {}
        for language, lines in calls:
            groups.setdefault(language, []).append(lines)
        learned = [cls.learn(group) for group in groups.values()]
        return cls(frozenset().union(*(b.common for b in learned)), sum(b.calls for b in learned))

    @classmethod
    def learn(cls, calls: Iterable[Sequence[str]]) -> Boilerplate:
        """From calls given as their lines (``Speaker: words``), e.g. ``text.splitlines()``."""
        df: Counter[tuple[str, ...]] = Counter()
        n = 0
        for lines in calls:
            n += 1
            seen: set[tuple[str, ...]] = set()
            for line in lines:
                seen |= shingles(line)
            df.update(seen)
        if n < cls.LEAST:
            return cls(frozenset(), n)
        least = max(cls.LEAST, int(n * cls.SHARE) + 1)
        return cls(frozenset(s for s, count in df.items() if count >= least), n)

    def __contains__(self, line: object) -> bool:
        if not self.common or not isinstance(line, str):
            return False
        found = shingles(line)
        if not found:
            return False
        return sum(s in self.common for s in found) >= self.LINE_SHARE * len(found)


NOTHING = Boilerplate(frozenset(), 0)


def is_content_free(line: str, boilerplate: Boilerplate = NOTHING) -> bool:
    """Filler, or boilerplate of the calls ``boilerplate`` was learned from."""
    return is_filler(line) or line in boilerplate
