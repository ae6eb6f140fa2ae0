"""Settings sections of what runs on the index: classification, label quality, search, the LLM,
PII redaction and the API (read through ``app.core.config.Settings``)."""

from __future__ import annotations

import json
import re
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    field_validator,
)
from pydantic_settings import NoDecode


def comma_list(value: object) -> object:
    """A list setting from the environment: NoDecode hands over the raw string, so both a JSON
    list and ``a,b`` work."""
    if isinstance(value, str):
        if value.strip().startswith("["):
            return json.loads(value)
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


class ClassifySettings(BaseModel):
    """Few-shot classification from the nearest labeled calls (no LLM needed)."""

    #: Neighbours retrieved from each of the dense and the BM25 index.
    k: int = Field(10, ge=1, le=200)
    #: Share of the neighbour vote given to dense neighbours (the rest to BM25 neighbours).
    dense_weight: float = Field(0.8, ge=0, le=1)
    #: The same for calls in Chinese; None = ``dense_weight`` with a multilingual embedder (the
    #: default e5, bge-m3, bge-small-zh), 0.3 with an English-only one (MiniLM: 59%
    #: nearest-neighbour accuracy on a Chinese intent set where lexical features reached 89%).
    dense_weight_chinese: float | None = Field(None, ge=0, le=1)
    #: Softmax temperature over neighbour similarities (smaller = nearest counts more), for a
    #: model whose unrelated texts score near 0; scaled to the embedder's similarity range
    #: (``retrieval.index.embedding.SimilarityProfile``).
    temperature: float = Field(0.05, gt=0)
    #: Share of the final score from the light model fitted on all labeled calls (logistic
    #: regression on dense + BM25 features); 0 = neighbour vote only.
    model_weight: float = Field(0.7, ge=0, le=1)
    #: Share of the calls that do have a label the classifier may answer "unknown" (out of the
    #: calls it would have got right): sets the abstain threshold, learned from the labeled
    #: calls (retrieval.classify.unknown). 0 = never answer "unknown".
    false_unknown_rate: float = Field(0.01, ge=0, le=0.5)
    #: A fixed threshold on the (calibrated) confidence instead of the learned one.
    min_confidence: float | None = Field(None, ge=0, le=1)


class LabelQualitySettings(BaseModel):
    """Label-quality runs: finding mislabeled training calls (``callscope eval labels``)."""

    #: Folds of the cross-validated light model (each call is scored by a model that never saw it).
    folds: int = Field(5, ge=2, le=20)
    #: Share of the out-of-sample probability from the leave-one-out neighbour vote; the rest
    #: comes from the cross-validated logistic regression, which ranked flipped labels better on
    #: Banking77 (docs/benchmarks.md).
    knn_weight: float = Field(0.3, ge=0, le=1)
    #: Dense cosine similarity at or above which two calls count as near-duplicates: they do not
    #: vote for each other, and different labels on them are reported as a conflict.
    near_duplicate: float = Field(0.97, gt=0, le=1)
    #: Labels with fewer examples are reported as too small to learn or to check well.
    min_examples: int = Field(5, ge=1)
    #: With an LLM configured, this many top suspects are adjudicated (0 = none).
    adjudicate_top: int = Field(20, ge=0, le=1000)


class SearchSettings(BaseModel):
    """Retrieval of call passages for search and Q&A."""

    #: ``hybrid`` = dense + BM25 fused with reciprocal-rank fusion in Qdrant.
    mode: Literal["hybrid", "dense", "sparse"] = "hybrid"
    #: Candidates each of dense and BM25 contributes to the fusion.
    prefetch_limit: int = Field(100, ge=1, le=10000)
    #: The k of RRF over the turn index's six vectors: small, so the best rank of each list
    #: counts (k=60 rewards turns that are merely present in many lists; measured).
    rrf_k: int = Field(10, ge=1)
    #: Which questions also search the turns by the meaning of the turn before them
    #: (``dense_prev``: a reply found by what it answers). Measured: Chinese questions about
    #: calls gain (within one call MRR 0.372 -> 0.431, across calls R@10 0.623 -> 0.665), English
    #: ones lose (demo MRR 0.826 -> 0.775, locomo MRR 0.565 -> 0.546): ``chinese`` = questions
    #: with Chinese characters, ``always``, ``off``.
    dense_previous: Literal["chinese", "always", "off"] = "chinese"
    #: Which questions are answered meaning first: within one call only the turn's vector and
    #: the previous turn's rank its turns; across calls the six lists find the calls and the
    #: turns of the ``meaning_first_calls`` best come first, ranked by the dense lists.
    #: Measured on Chinese questions (crosswoz_retrieval_dev): within one call MRR 0.431 ->
    #: 0.617, across calls R@10 0.665 -> 0.745 (docs/benchmarks.md). ``chinese`` = questions
    #: with Chinese characters when the embedder is multilingual, ``always``, ``off``.
    meaning_first: Literal["chinese", "always", "off"] = "chinese"
    meaning_first_calls: int = Field(3, ge=1, le=100)
    #: Also return the turns around each hit (``expand_turns`` before and after it).
    expand: bool = False
    expand_turns: int = Field(1, ge=1, le=10)
    #: A question that names a time ("last week", "in May", "上周", "2023年5月"): ``first`` =
    #: the turns of those days rank first and the rest follow (a date in a question is as often
    #: the time of an event as of the call: measured on long conversations), ``filter`` = those
    #: days only, ``off``. Dates given as filters always filter.
    dates_from_question: Literal["first", "filter", "off"] = "first"
    #: Retrieval is "weak" (Q&A answers "not found in the calls") when the best dense similarity
    #: (relative to the model's range: ``SimilarityProfile``) is below this and BM25 found nothing
    #: scoring at least ``min_bm25_score``.
    min_dense_score: float = Field(0.35, ge=-1, le=1)
    min_bm25_score: float = Field(1.0, ge=0)


class LLMSettings(BaseModel):
    """Any OpenAI-compatible endpoint (OpenAI, DeepSeek, Qwen, vLLM, Ollama). Off when unset."""

    base_url: str | None = None
    api_key: SecretStr | None = None
    model: str | None = None
    #: Seconds one HTTP request may take before it counts as a timeout (and is retried).
    timeout: float = Field(60.0, gt=0)
    #: Retries after the first attempt on 429, 5xx, timeouts and connection errors.
    max_retries: int = Field(4, ge=0, le=20)
    #: Exponential backoff between retries: first wait in seconds, doubling up to the max,
    #: plus up to ``backoff_initial`` seconds of random jitter.
    backoff_initial: float = Field(1.0, ge=0)
    backoff_max: float = Field(30.0, ge=0)
    #: A server's ``Retry-After`` (429/503) is obeyed up to this many seconds.
    retry_after_max: float = Field(60.0, ge=0)
    #: Requests in flight at once when a batch of calls is classified.
    concurrency: int = Field(4, ge=1, le=64)
    #: A scorecard question the LLM answers counts in scores once reviewers have agreed with
    #: its answers often enough: the lower end of the 95% interval of the agreement at least
    #: this (10 of 10 reviews agreeing: 0.72). Until then its answers are shown, not scored (a
    #: small local model agreed with a reviewer 25-33% of the time: docs/benchmarks.md).
    #: 0 counts them from the start.
    scorecard_min_agreement: float = Field(0.7, ge=0, le=1)
    #: 0 keeps answers reproducible, which the response cache relies on.
    temperature: float = Field(0.0, ge=0, le=2)
    #: Upper bound on the tokens of one answer (a JSON verdict needs far fewer).
    max_output_tokens: int = Field(400, ge=16)
    #: Token budget of one classification prompt (system + examples + call), in tiktoken
    #: tokens; keep it well below the model's context window.
    max_prompt_tokens: int = Field(6000, ge=256)
    #: The server's context window in its own tokens, when known (``callscope llm serve``
    #: says it; llama.cpp's server runs 4096 by default). Prompts then stay inside it with
    #: room for the answer, whatever max_prompt_tokens says.
    context_window: int | None = Field(None, ge=512)
    #: ``auto`` tries json_schema, then the schema inside json_object (llama.cpp), then plain
    #: json_object, then text, and remembers per endpoint what worked; set a mode to skip
    #: probing a server known to mishandle the stricter ones.
    response_mode: Literal["auto", "json_schema", "json_object_schema", "json_object", "text"] = (
        "auto"
    )
    #: Whether the LLM may decide classifications: ``measure`` compares kNN with kNN + LLM on
    #: a sample of labeled calls first and lets the LLM decide only in the confidence bands
    #: where it got more right (kept until the labels, the model or the endpoint change);
    #: ``always`` trusts it without measuring; ``never`` keeps kNN's answers.
    trust: Literal["measure", "always", "never"] = "measure"
    #: Labeled calls the trust measurement classifies both ways (each label in turn).
    trust_sample: int = Field(40, ge=4, le=2000)
    #: Prices per 1000 tokens for the cost estimate in usage reports (0 = free / self-hosted).
    price_per_1k_input: float = Field(0.0, ge=0)
    price_per_1k_output: float = Field(0.0, ge=0)

    @property
    def enabled(self) -> bool:
        return bool(self.base_url and self.model)

    def prompt_budget(self, answer_tokens: int | None = None) -> int:
        """Tokens one prompt may take: max_prompt_tokens, and within the context window (when
        known) with room for an answer of ``answer_tokens`` (default max_output_tokens).

        Prompts are counted with tiktoken's cl100k, which counts Chinese and English text a
        little differently from a local model's own tokenizer: a tenth is kept in reserve.
        """
        if self.context_window is None:
            return self.max_prompt_tokens
        answer = answer_tokens or self.max_output_tokens
        room = int((self.context_window - answer) * 0.9)
        return max(256, min(self.max_prompt_tokens, room))


#: Kinds of personal data the redactor knows (retrieval/pii.py); ipv4 and passport are opt-in.
PII_KINDS = ("phone", "id_number", "bank_card", "email", "number", "ipv4", "passport")


class PIISettings(BaseModel):
    """Personal data replaced by placeholders before a prompt is sent to an LLM endpoint."""

    #: Redact prompts whenever the LLM endpoint is external (not localhost or a private host).
    enabled: bool = True
    #: Kinds to find, from PII_KINDS.
    #: ``number``: 7 or more digits read out one by one (一三八…, "one three eight…") that no
    #: check identifies as a phone, an ID or a card.
    kinds: list[str] = Field(
        default_factory=lambda: ["phone", "id_number", "bank_card", "email", "number"]
    )
    #: Extra regular expressions (Python syntax); their matches are redacted as kind ``custom``.
    extra_patterns: list[str] = Field(default_factory=list)
    #: ``{kind}`` is the upper-case kind (PHONE, ID_NUMBER, BANK_CARD, EMAIL, NUMBER, CUSTOM); an
    #: optional ``{n}`` numbers the distinct values of a kind within one prompt.
    placeholder: str = "[{kind}]"
    #: Also redact for local/private endpoints (there the data stays in house anyway).
    redact_local_llm: bool = False

    @field_validator("kinds", mode="before")
    @classmethod
    def _kinds(cls, value: object) -> object:
        if not isinstance(value, list):
            return value
        kinds = list(dict.fromkeys(str(v).strip().lower() for v in value))
        unknown = [k for k in kinds if k not in PII_KINDS]
        if unknown:
            raise ValueError(f"unknown PII kind(s) {unknown}; known: {', '.join(PII_KINDS)}")
        return kinds

    @field_validator("extra_patterns")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"bad regex {pattern!r}: {exc}") from exc
        return value

    @field_validator("placeholder")
    @classmethod
    def _placeholder(cls, value: str) -> str:
        try:
            value.format(kind="PHONE", n=1)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"placeholder may only use {{kind}} and {{n}}: {exc!r}") from exc
        if not value:
            raise ValueError("placeholder must not be empty")
        return value


class ApiSettings(BaseModel):
    """The HTTP API (``app/api.py``): who may call it and where it listens."""

    #: Keys accepted in the ``X-API-Key`` header; ``API__API_KEYS='["k1","k2"]'`` or ``k1,k2``.
    api_keys: Annotated[list[SecretStr], NoDecode] = []
    #: No key needed at all: only for a laptop. Without keys and without this, the API refuses
    #: every protected route (fail closed) rather than serving the calls to anyone.
    dev_mode: bool = False
    #: Largest uploaded file; over it the request is refused (413) and nothing is kept.
    max_upload_mb: float = Field(200.0, gt=0)
    #: Largest request body (several files in one upload); refused from the Content-Length
    #: header, or as soon as a streamed body passes it, before anything is parsed.
    max_request_mb: float = Field(1024.0, gt=0)
    #: Origins allowed by CORS; empty = no CORS middleware (same-origin only).
    cors_origins: Annotated[list[str], NoDecode] = []
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    #: Failed API-key checks or UI logins from one client address within
    #: ``auth_failure_window_s`` before that client gets 429 for the rest of the window
    #: (guessing keys at full speed stops). Behind a proxy, start uvicorn with
    #: ``--proxy-headers`` so the client address is the real one.
    max_auth_failures: int = Field(10, ge=1, le=10_000)
    auth_failure_window_s: float = Field(300.0, gt=0)
    #: Connections served at once; more get 503 at once (half-open or slow clients cannot
    #: hold every worker). Idle keep-alive connections are closed after ``keep_alive_s``.
    max_connections: int = Field(64, ge=1, le=100_000)
    keep_alive_s: float = Field(5.0, gt=0, le=600)
    #: Mount the web UI at /ui in the same process (``callscope serve --no-ui`` turns it off).
    ui: bool = True

    @field_validator("api_keys", "cors_origins", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        return comma_list(value)


class AlertSettings(BaseModel):
    """Webhooks for severe quality-inspection matches (``app.services.alerts``): a JSON event
    POSTed to each URL, signed with the shared secret, retried with backoff; ingest never waits
    for them (a failed delivery is kept in the delivery log and tried again)."""

    #: URLs to POST events to; ``ALERTS__WEBHOOKS='["https://..."]'`` or ``url1,url2``.
    webhooks: Annotated[list[str], NoDecode] = []
    #: HMAC-SHA256 key: each request carries ``X-CallScope-Signature: sha256=<hex>`` of its body.
    secret: SecretStr | None = None
    #: The least severe rule whose match is sent (info, low, medium, high, critical).
    min_severity: Literal["info", "low", "medium", "high", "critical"] = "high"
    #: Seconds one delivery may take before it counts as failed.
    timeout: float = Field(10.0, gt=0, le=300)
    #: Attempts per event (then it stays in the log as failed); waits double from ``backoff_s``.
    max_attempts: int = Field(6, ge=1, le=50)
    backoff_s: float = Field(30.0, gt=0, le=86_400)

    @field_validator("webhooks", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        return comma_list(value)

    @field_validator("webhooks")
    @classmethod
    def _http_urls(cls, value: list[str]) -> list[str]:
        for url in value:
            if not re.match(r"^https?://[^\s/]+", url):
                raise ValueError(f"webhook {url!r}: use an http:// or https:// URL")
        return value
