"""Builds the shared components from Settings, once, lazily.

The services ask a :class:`Runtime` for the embedder, the two collections (turns, calls), the
ledger and the transcriber; each is created on first use, so ``callscope status`` never loads a
model and a text-only ingest never loads whisper.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from app.core.config import Settings
from app.core.errors import CollectionMismatchError, StateError, StoreError
from ingest.ledger import REPAIR, Ledger
from ingest.pipeline import IngestPipeline
from ingest.transcribe import SpeechToText, Transcriber
from ingest.workers import TranscriberPool, plan
from retrieval.index.embedding import Embedder, make_embedder
from retrieval.index.factory import adopt_legacy, open_store
from retrieval.index.sparse import Bm25Encoder
from retrieval.index.store import VectorStore

if TYPE_CHECKING:
    from app.core.filters import CallFilter
    from retrieval.classify.knn import KnnClassifier
    from retrieval.classify.refine import LLMRefiner
    from retrieval.inspection.book import RuleBook
    from retrieval.inspection.card_book import CardBook
    from retrieval.llm.client import LLMClient
    from retrieval.qa.engine import QAEngine
    from retrieval.search import Searcher


class built_once(cached_property):  # noqa: N801 - used like the decorator it extends
    """``cached_property`` built under the Runtime's lock: API threads, the job worker and the
    UI may ask for a component at the same moment, and an embedded Qdrant shard can be opened
    only once (Python 3.12 dropped the lock ``cached_property`` had in 3.11)."""

    def __get__(self, instance: object, owner: type | None = None) -> object:
        if instance is None:
            return self
        with instance._build_lock:  # type: ignore[attr-defined]
            return super().__get__(instance, owner)


class Runtime:
    """The components of one CallScope process. Close it (or use ``with``) to flush the store."""

    def __init__(self, settings: Settings, *, embedder: Embedder | None = None) -> None:
        self._build_lock = threading.RLock()
        self.settings = settings
        self._transcriber: SpeechToText | None = None
        #: Seconds this runtime spent per stage (transcribe, index, classify).
        self.clock: Counter[str] = Counter()
        self._labels: tuple[int, float, list[str]] | None = None  # (store writes, when, labels)
        self._transcriber_lock = threading.Lock()
        self._names_adopted = False  # see adopt_legacy_names
        #: True in a server (set by the API's lifespan): slow one-off work a request would
        #: otherwise wait for (measuring the LLM) runs in the background instead.
        self.long_lived = False
        self._renamed: tuple[str, str] | None = None
        if embedder is not None:
            self.__dict__["embedder"] = embedder
        settings.paths.state_dir.mkdir(parents=True, exist_ok=True)

    @built_once
    def embedder(self) -> Embedder:
        return make_embedder(self.settings.embedding)

    @built_once
    def sparse(self) -> Bm25Encoder:
        return Bm25Encoder(language=self.settings.qdrant.bm25_language)

    @built_once
    def ledger(self) -> Ledger:
        """The ledger of calls, checked on open: a damaged file, or an empty ledger beside a
        store that holds calls (a ledger deleted or replaced by an empty file), is a
        ``StateError`` that names ``callscope doctor``; ingesting on top of it would leave the
        old points of every call beside the new ones."""
        ledger = Ledger(self.settings.paths.ledger)
        renamed = self.adopt_legacy_names()
        if renamed is not None:
            ledger.rename_collection(*renamed)
        if not sum(ledger.counts().values()):
            try:
                stored = self.calls.count()
            except (CollectionMismatchError, StoreError):
                stored = 0  # an older or unreachable store: reindex / status say so
            if stored:
                ledger.close()
                raise StateError(
                    f"the ledger {self.settings.paths.ledger} lists no calls but the store holds "
                    f"{stored}: it was emptied or replaced; {REPAIR}"
                )
        return ledger

    def adopt_legacy_names(self) -> tuple[str, str] | None:
        """Collections named before they were named after the index take their names now,
        once, before anything opens them (``retrieval.index.factory.adopt_legacy``); returns
        the turn collection's ``(old, new)`` names, which the ledger's rows follow."""
        with self._build_lock:
            if not self._names_adopted:
                self._renamed = adopt_legacy(self.settings)
                self._names_adopted = True
            return self._renamed

    @built_once
    def turns(self) -> VectorStore:
        """The turn collection: one point per turn (the turn index searches read)."""
        self.adopt_legacy_names()
        return open_store(self.settings, self.embedder, self.sparse)

    @built_once
    def calls(self) -> VectorStore:
        """The call collection: one point per call (classification, label runs, Insights)."""
        self.adopt_legacy_names()
        return open_store(
            self.settings,
            self.embedder,
            self.sparse,
            collection=self.settings.qdrant.calls_collection,
        )

    @built_once
    def llm(self) -> LLMClient | None:
        """The OpenAI-compatible client, or None when no LLM is configured. One per process,
        shared by classification, label review and Q&A, so they share its retries, response
        cache, PII redaction (prompts quote calls; redacted when the endpoint is external) and
        one usage count."""
        if not self.settings.llm.enabled:
            return None
        from retrieval.llm.client import LLMClient
        from retrieval.llm.pii import redactor_for

        return LLMClient(
            self.settings.llm,
            cache_path=self.settings.paths.state_dir / "llm_cache.sqlite",
            redactor=redactor_for(self.settings.pii, self.settings.llm.base_url),
        )

    @built_once
    def rule_book(self) -> RuleBook:
        """The quality-inspection rules, their history and what they found on each call."""
        from retrieval.inspection.book import RuleBook

        return RuleBook(self.settings.paths.state_dir / "inspection.sqlite")

    @built_once
    def card_book(self) -> CardBook:
        """The quality-inspection scorecards and the scores they gave (beside the rules)."""
        from retrieval.inspection.card_book import CardBook

        return CardBook(self.settings.paths.state_dir / "inspection.sqlite")

    @built_once
    def classifier(self) -> KnnClassifier:
        """One classifier per process: it keeps its light model between requests and refits
        only when the labeled calls change."""
        from retrieval.classify.knn import KnnClassifier

        return KnnClassifier(
            self.calls, self.embedder, self.sparse, self.settings.classify, self.settings.index
        )

    def llm_refiner(self) -> LLMRefiner | None:
        """Refines kNN answers with the LLM over the labels in the index; None without an LLM."""
        if self.llm is None:
            return None
        from retrieval.classify.refine import LLMRefiner

        return LLMRefiner(self.llm, self.settings, self.labels())

    def labels(self) -> list[str]:
        """Every label on a call in the index, sorted. Read again only after a write through
        the store (or every 30 s on a shared server), not on every classify request."""
        from retrieval.classify.knn import RECHECK_SECONDS

        calls, now = self.calls, time.monotonic()
        if self._labels is not None:
            writes, at, labels = self._labels
            if writes == calls.writes and (not calls.shared or now - at < RECHECK_SECONDS):
                return labels
        writes = calls.writes
        found = {label for point in calls.scroll() for label in point.payload.get("labels") or []}
        self._labels = (writes, now, sorted(found))
        return sorted(found)

    def llm_usage(self) -> str | None:
        """One line of LLM request/token/cost accounting (classification, label review and
        Q&A together), when an LLM was used."""
        if "llm" not in self.__dict__ or self.llm is None:
            return None
        return self.llm.usage_line()

    def searcher(self) -> Searcher:
        from retrieval.search import Searcher

        return Searcher(self.turns, self.embedder, self.sparse, self.settings.search)

    def qa(
        self,
        *,
        k: int = 8,
        filters: CallFilter | dict | None = None,
        first: CallFilter | None = None,
    ) -> QAEngine:
        """The Q&A engine: LlamaIndex retriever over our store and, when an LLM is configured,
        a LlamaIndex LLM over ``self.llm`` (which redacts, retries, caches and counts)."""
        from retrieval.qa.engine import QAEngine
        from retrieval.qa.llama import CallRetriever, ClientLLM

        retriever = CallRetriever(self.searcher(), k=k, filters=filters, first=first)
        llm = ClientLLM(self.llm) if self.llm is not None else None
        return QAEngine(retriever, self.settings, llm=llm)

    def transcriber(self) -> SpeechToText:
        """The speech model, loaded on first use and then kept: a server transcribes upload
        after upload, and loading whisper costs seconds each time. In this process with
        ``whisper.workers = 1``, else on that many worker processes (``ingest.workers``)."""
        with self._transcriber_lock:
            if self._transcriber is None:
                s, paths = self.settings.whisper, self.settings.paths
                workers, threads = plan(s)
                address = self.settings.ray.address or os.environ.get("RAY_ADDRESS")
                if address:
                    from ingest.ray_workers import RayTranscriber  # the optional extra

                    self._transcriber = RayTranscriber(
                        s,
                        models_dir=paths.models,
                        cache_dir=paths.transcripts,
                        address=address,
                        workers=self.settings.ray.workers,
                        threads=threads,
                    )
                elif workers > 1:
                    self._transcriber = TranscriberPool(
                        s,
                        models_dir=paths.models,
                        cache_dir=paths.transcripts,
                        workers=workers,
                        threads=threads,
                    )
                else:
                    self._transcriber = Transcriber(
                        s.model_copy(update={"cpu_threads": threads}),
                        models_dir=paths.models,
                        cache_dir=paths.transcripts,
                    )
            return self._transcriber

    def forget_transcript(self, audio_hash: str) -> None:
        """Drop a recording's cached transcript (the next ingest transcribes it again)."""
        s = self.settings
        stt = Transcriber(s.whisper, models_dir=s.paths.models, cache_dir=s.paths.transcripts)
        stt.cache.forget(audio_hash)

    def pipeline(self) -> IngestPipeline:
        return IngestPipeline(
            self.settings,
            ledger=self.ledger,
            turns=self.turns,
            calls=self.calls,
            embedder=self.embedder,
            sparse=self.sparse,
            transcriber=self.transcriber,
            clock=self.clock,
        )

    def close(self) -> None:
        close = getattr(self._transcriber, "close", None)
        if close is not None:
            close()
            self._transcriber = None
        for name in ("turns", "calls", "ledger", "llm", "rule_book", "card_book"):
            if name in self.__dict__:
                component = self.__dict__.pop(name)
                if component is not None:
                    component.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@contextmanager
def temporary_runtime(
    settings: Settings, *, prefix: str, embedder: Embedder | None = None
) -> Iterator[Runtime]:
    """A Runtime on a throwaway state dir and collection, for evaluations that index their own
    data through the production path; on a Qdrant server its collections are dropped after."""
    with tempfile.TemporaryDirectory(prefix=f"callscope-{prefix}-") as tmp:
        run_settings = settings.with_changes(
            paths={"state_dir": Path(tmp), "models_dir": settings.paths.models},
            qdrant={"index": f"{prefix}_{int(time.time())}"},
        )
        with Runtime(run_settings, embedder=embedder) as runtime:
            try:
                yield runtime
            finally:
                if run_settings.qdrant.url:
                    runtime.turns.drop()  # type: ignore[attr-defined]
                    runtime.calls.drop()  # type: ignore[attr-defined]
