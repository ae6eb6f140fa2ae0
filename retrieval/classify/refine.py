"""The LLM on top of the kNN answer: neighbours become few-shot examples, the LLM decides, and
the kNN answer stays as the fallback.

With a measured trust (``retrieval.classify.trust``) the LLM is asked only about calls whose
kNN confidence falls in a band where it was measured to help; the others keep kNN's answer and
say why in their provenance. Final confidence mixes the LLM's own confidence with how much the
neighbour vote supports the LLM's label, so an LLM answer that no neighbour supports is never
reported as certain. Requests
run concurrently (``llm.concurrency``); the response cache makes a re-run free.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from app.core.config import Settings
from retrieval.classify.knn import UNKNOWN, Classification
from retrieval.classify.llm_prompt import Example, LLMVerdict, classify_with_llm
from retrieval.classify.trust import LLMTrust
from retrieval.llm.client import LLMClient

#: Neighbours whose vote gives one label at least this share are unambiguous.
UNAMBIGUOUS = 0.8
#: An LLM label with less of the neighbours' vote than this is unsupported.
NO_SUPPORT = 0.05


class LLMRefiner:
    """Refines kNN classifications with an OpenAI-compatible LLM. Callable on a batch."""

    def __init__(
        self,
        client: LLMClient,
        settings: Settings,
        labels: Sequence[str],
        descriptions: dict[str, str] | None = None,
        trust: LLMTrust | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self.labels = sorted(labels)
        self.descriptions = descriptions
        #: None: the LLM decides every call (what the trust measurement itself compares).
        self.trust = trust

    def __call__(self, found: list[Classification], texts: list[str]) -> list[Classification]:
        if not self.labels:
            return found
        rules = [self._rule(c) for c in found]
        asked = [i for i, (ask, _) in enumerate(rules) if ask]
        with ThreadPoolExecutor(max_workers=self.settings.llm.concurrency) as pool:
            answers = pool.map(self._ask, [found[i] for i in asked], [texts[i] for i in asked])
            verdicts = dict(zip(asked, answers, strict=True))
        out = []
        for i, (c, (ask, why)) in enumerate(zip(found, rules, strict=True)):
            if ask:
                answer = combine(c, verdicts[i], self.client.model)
            else:
                answer = replace(c, provenance={**c.provenance, "llm_model": self.client.model})
            if why:
                answer.provenance["llm_trust"] = why
            out.append(answer)
        return out

    def _rule(self, knn: Classification) -> tuple[bool, str | None]:
        """Whether to ask the LLM about this call, and the measured reason (None untested)."""
        if self.trust is None:
            return True, None
        return self.trust.decides(knn.confidence)

    def _ask(self, knn: Classification, text: str) -> LLMVerdict:
        # Ranked by their share of the vote (one scale: the raw score is a cosine for dense
        # neighbours and an unbounded BM25 score for the others); a call found both ways once.
        share: dict[str, float] = {}
        for n in knn.neighbours:
            share[n.call_id] = share.get(n.call_id, 0.0) + n.weight
        examples, seen = [], set()
        for n in sorted(knn.neighbours, key=lambda n: -share[n.call_id]):
            if n.call_id not in seen and n.text:
                seen.add(n.call_id)
                examples.append(Example(n.call_id, n.labels, n.text, share[n.call_id]))
        return classify_with_llm(
            self.client,
            text,
            self.labels,
            examples,
            descriptions=self.descriptions,
            budget_tokens=self.settings.llm.prompt_budget(),
            encoding_name=self.settings.tokenizer.encoding,
        )


def combine(knn: Classification, verdict: LLMVerdict, model: str) -> Classification:
    """The LLM's label when it gave a valid one, else the kNN answer flagged."""
    provenance = {
        **knn.provenance,
        "llm_model": model,
        "prompt_hash": verdict.prompt_hash,
        "llm_cached": verdict.cached,
    }
    if verdict.label is None:
        return replace(
            knn, flags=[*knn.flags, verdict.flag or "llm_no_answer"], provenance=provenance
        )
    # How much the kNN answer backs the LLM's: the blended score of its label, or for "none of
    # the labels" the chance the kNN answer is wrong.
    if verdict.label == UNKNOWN:
        support = 1.0 - knn.confidence
    else:
        support = knn.scores.get(verdict.label, 0.0)
    top_vote = max(knn.vote.values(), default=0.0)
    if top_vote >= UNAMBIGUOUS and knn.vote.get(verdict.label, 0.0) < NO_SUPPORT:
        # Neighbours agree on one label and none supports the LLM's: the likeliest cause is
        # text in the call steering the model ("ignore previous instructions..."), so the
        # neighbours win.
        return replace(
            knn,
            flags=[*knn.flags, "llm_overruled_by_neighbours"],
            provenance={**provenance, "llm_label": verdict.label},
        )
    confidence = round(0.5 * verdict.confidence + 0.5 * support, 4)
    flags = [f for f in knn.flags if f != "low_confidence"]
    if knn.label not in (verdict.label, UNKNOWN):
        flags.append("llm_overrode_knn")
    labels = [verdict.label, *[s for s in verdict.secondary if s != verdict.label]]
    if verdict.label == UNKNOWN:
        labels = []
    provenance["llm_reason"] = verdict.reason
    return replace(
        knn,
        label=verdict.label,
        labels=labels,
        confidence=confidence,
        decided_by="llm",
        flags=flags,
        provenance=provenance,
    )
