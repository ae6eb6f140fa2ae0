"""The words that set a cluster apart: class-based TF-IDF (c-TF-IDF, as BERTopic names topics).

All calls of a cluster are read as one document; a word scores by how often the cluster says it
(per word the cluster says) times ``log(1 + A / f)``, where ``f`` is how often every class says
it and ``A`` the average number of words per class. The labeled calls can join as one more class
(the background), so words every call has (the company's name, "order", greetings) score low
even when the pool itself is small.

Words: English is lower-cased word tokens minus stopwords and call-centre filler; Chinese is
segmented with jieba (the BM25 token ids on the points are hashes, they cannot be read back as
words). Speaker prefixes (``Agent:``) are not words of the call.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections import Counter
from collections.abc import Sequence

import numpy as np

_SPEAKER = re.compile(r"^\s*[^\s:：]{1,20}[:：]\s*", re.MULTILINE)
#: Runs of CJK ideographs, and Latin words (apostrophes and inner hyphens kept).
_PIECES = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z][a-z'\-]*[a-z]")

#: Said in every kind of call: never what sets one apart.
_FILLER = frozenset(
    """
    agent customer yes yeah yep okay ok oh ah um uh hmm hi hello hey thanks thank please sorry
    sure right well just like really got get gets getting let lets know want wanted need needs
    think go going gone come came said say says tell told ask asked able one two day today
    minute minutes moment bye goodbye great good fine alright actually also can could would
    should will shall might must maybe still also ll ve re don didn doesn isn wasn can't won't
    i'm i've i'll i'd you're you've you'll we're we'll it's that's there's what's let's
    speaking calling call called help
    """.split()
)
_CHINESE_STOP = frozenset(
    """
    我们 你们 他们 她们 这个 那个 这些 那些 什么 怎么 怎么样 可以 没有 就是 一下 已经 现在 因为 所以
    但是 还是 如果 您好 你好 谢谢 请问 好的 知道 不是 一个 这样 那么 然后 的话 时候 一直 还有 需要
    帮您 帮你 麻烦 感谢 不好意思 对不起 是的 嗯嗯 好吧 可能 应该 觉得 问题 一样 里面 这里 那里 我要
    我想 您的 你的 我的 客户 坐席 再见 稍等 马上 这边 那边 您说 请您 给您 为您 没问题 处理
    这是 那是 一次 以后 之前 之后
    """.split()
)


@functools.cache
def _stop() -> frozenset[str]:
    """English stop words and call filler (scikit-learn's list, loaded on first use: importing
    it costs every command a second)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return ENGLISH_STOP_WORDS | _FILLER


_jieba_lock = threading.Lock()
_jieba = None


def _segment(text: str) -> list[str]:
    """Chinese words of ``text`` (jieba, loaded once; its dictionary takes a second)."""
    global _jieba
    with _jieba_lock:
        if _jieba is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
            _jieba = jieba
    return _jieba.lcut(text)


def words(text: str) -> list[str]:
    """The content words of a call, in order."""
    out: list[str] = []
    for piece in _PIECES.findall(_SPEAKER.sub(" ", text).lower()):
        if "\u3400" <= piece[0]:
            out += [w for w in _segment(piece) if len(w) > 1 and w not in _CHINESE_STOP]
        elif len(piece) > 2 and piece not in _stop():
            out.append(piece)
    return out


def distinctive_terms(
    clusters: Sequence[Sequence[str]], background: Sequence[str] = (), *, top: int = 8
) -> list[list[tuple[str, float]]]:
    """The ``top`` c-TF-IDF terms of each cluster (a list of call texts), best first, with their
    scores; ``background`` texts form one more class that is scored against but not named. A
    word only one call of a cluster says is not a term of a cluster of three or more calls."""
    bags: list[Counter[str]] = []
    spread: list[Counter[str]] = []  # in how many calls of the cluster each word appears
    for texts in clusters:
        bag: Counter[str] = Counter()
        calls: Counter[str] = Counter()
        for text in texts:
            found = words(text)
            bag.update(found)
            calls.update(set(found))
        bags.append(bag)
        spread.append(calls)
    background_bag: Counter[str] = Counter()
    for text in background:
        background_bag.update(words(text))
    classes = [*bags, background_bag] if background_bag else bags
    totals = Counter[str]()
    for bag in classes:
        totals.update(bag)
    if not totals:
        return [[] for _ in clusters]
    average = float(np.mean([sum(bag.values()) for bag in classes]))
    out = []
    for texts, bag, calls in zip(clusters, bags, spread, strict=True):
        size = sum(bag.values()) or 1
        least = 2 if len(texts) >= 3 else 1
        scored = [
            (word, count / size * float(np.log(1.0 + average / totals[word])))
            for word, count in bag.items()
            if calls[word] >= least
        ]
        scored.sort(key=lambda ws: (-ws[1], ws[0]))
        out.append([(w, round(s, 5)) for w, s in scored[:top]])
    return out
