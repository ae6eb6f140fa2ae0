"""What of a call topic discovery looks at: its turns with content.

Twelve calls about roaming, eSIMs and broken screens that all open with "<Company>, <name>
speaking, how can I help?" and close with "Is there anything else …" are alike in exactly the
turns that say nothing about them: left in, the greeting pulls the calls into one group and
names it after the company. So before clustering, the pool's boilerplate is learned from the
pool itself (lines most of its calls of a language share, ``app.core.filler.Boilerplate``),
and with filler ("好的，麻烦你了。") it is left out of

- each call's text, which the terms and the excerpts are read from (:func:`content_text`), and
- each call's vector: the turns with content summed by length, as ingest sums a call's turns
  (:func:`content_vector`; the service reads the turn vectors the index holds, nothing is
  embedded again).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from app.core.filler import Boilerplate, is_content_free, words_of
from retrieval.topics.features import PoolCall


def learn_boilerplate(calls: Iterable[PoolCall]) -> Boilerplate:
    """The boilerplate of the calls' texts (``Speaker: words`` lines), language by language."""
    return Boilerplate.learn_by_language((c.language, c.text.splitlines()) for c in calls)


def content_text(text: str, boilerplate: Boilerplate) -> str:
    """The lines of a call's text that are neither filler nor ``boilerplate``; the whole text
    when no line is left."""
    lines = [line for line in text.splitlines() if line.strip()]
    kept = [line for line in lines if not is_content_free(line, boilerplate)]
    return "\n".join(kept or lines)


def has_content_free(text: str, boilerplate: Boilerplate) -> bool:
    """Whether any line of the call's text is filler or boilerplate."""
    return any(is_content_free(line, boilerplate) for line in text.splitlines() if line.strip())


def content_vector(
    turns: Sequence[tuple[str, np.ndarray]], boilerplate: Boilerplate
) -> np.ndarray | None:
    """A call's vector from its turns' (``Speaker: words``, dense vector) pairs: the turns with
    content summed, each weighted by its length in characters (as ``ingest.turns.call_vector``),
    normalised; None when no turn has content."""
    kept = [(text, vector) for text, vector in turns if not is_content_free(text, boilerplate)]
    if not kept:
        return None
    sizes = np.array([max(len(words_of(text)), 1) for text, _ in kept], dtype=np.float32)
    vectors = np.asarray([vector for _, vector in kept], dtype=np.float32)
    total = (vectors * sizes[:, None]).sum(axis=0)
    return total / (float(np.linalg.norm(total)) or 1.0)
