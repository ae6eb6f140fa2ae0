"""LlamaIndex on top of our store and our one LLM client.

- :class:`CallRetriever` is a LlamaIndex retriever over :class:`~retrieval.search.Searcher`, so
  it works on the embedded Qdrant Edge engine and on a Qdrant server alike (the store interface
  hides which), with our hybrid search and payload filters. The search's "weak" verdict rides
  on the nodes it returns (:func:`is_weak`), not on the retriever, so one retriever can serve
  concurrent questions.
- :class:`ClientLLM` is a LlamaIndex LLM over :class:`~retrieval.llm.client.LLMClient`, the
  client classification uses: Q&A gets the same retries, response cache, PII redaction and
  usage accounting. (llama-index-llms-openai-like would pin ``openai`` below 3, and would
  bypass all of that.) What the client redacted travels with each streamed response
  (:func:`redactions_of`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.llms import CustomLLM
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from pydantic import PrivateAttr

from app.core.filler import is_filler
from app.core.filters import CallFilter
from retrieval.llm.client import LLMClient
from retrieval.llm.stream import ChatStream
from retrieval.search import Passage, Searcher

#: Node metadata key of the search's verdict that the evidence is too weak to answer from.
WEAK = "retrieval_weak"
#: ``ChatResponse.additional_kwargs`` key of the PII redaction counts of the prompt.
REDACTIONS = "redactions"


class CallRetriever(BaseRetriever):
    """Retrieves call passages as LlamaIndex nodes; each node keeps its :class:`Passage`."""

    def __init__(
        self,
        searcher: Searcher,
        *,
        k: int = 8,
        filters: CallFilter | dict[str, Any] | None = None,
        expand: bool | None = None,
        first: CallFilter | None = None,
        demote: Callable[[str], bool] | None = is_filler,
    ) -> None:
        super().__init__()
        self.searcher = searcher
        self.k = k
        self.filters = filters
        self.expand = expand
        #: Turns matching this (the days the question names) come first.
        self.first = first
        #: What counts as a turn without content (``Searcher.search``).
        self.demote = demote

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        result = self.searcher.search(
            query_bundle.query_str,
            filters=self.filters,
            k=self.k,
            expand=self.expand,
            first=self.first,
            demote=self.demote,
        )
        # Fused (RRF) scores tie exactly whenever two passages swap ranks between dense and
        # BM25, and the store orders ties arbitrarily. A fixed order among ties keeps the
        # prompt, and so the response-cache key, the same for the same question.
        # Content-free passages stay after the others (the search ranked them so).
        passages = sorted(
            result.passages, key=lambda p: (p.content_free, -p.score, p.call_id, p.turn, p.part)
        )
        return [NodeWithScore(node=to_node(p, weak=result.weak), score=p.score) for p in passages]


def is_weak(nodes: Sequence[NodeWithScore]) -> bool:
    """Whether the search that found ``nodes`` judged them too weak to answer from."""
    return any(n.node.metadata.get(WEAK) for n in nodes)


def to_node(passage: Passage, *, weak: bool = False) -> TextNode:
    hidden = ["passage", "labels", WEAK]  # ours, not text for the model or the embedder
    return TextNode(
        id_=f"{passage.call_id}:{passage.turn}:{passage.part}",
        text=passage.text,
        metadata={
            "call_id": passage.call_id,
            "start": passage.start,
            "end": passage.end,
            "speakers": passage.speakers,
            "labels": passage.labels,
            "citation": passage.citation,
            "passage": passage,
            WEAK: weak,
        },
        excluded_llm_metadata_keys=hidden,
        excluded_embed_metadata_keys=hidden,
    )


def redactions_of(response: ChatResponse) -> dict[str, int]:
    """The PII placeholders, by kind, put into the prompt that produced ``response``."""
    return dict(response.additional_kwargs.get(REDACTIONS) or {})


#: The longest answer a question gets, in tokens (the prompt leaves room for it).
ANSWER_TOKENS = 800


class ClientLLM(CustomLLM):
    """A LlamaIndex chat LLM whose every request goes through one :class:`LLMClient`."""

    model: str = "unknown"
    context_window: int = 8192
    #: Q&A answers cite passages in prose, so they get more room than a JSON verdict.
    max_tokens: int = ANSWER_TOKENS
    _client: LLMClient = PrivateAttr()

    def __init__(self, client: LLMClient, **kwargs: Any) -> None:
        super().__init__(model=client.model, **kwargs)
        self._client = client

    @property
    def client(self) -> LLMClient:
        return self._client

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            context_window=self.context_window,
            num_output=self.max_tokens,
            model_name=self.model,
            is_chat_model=True,
        )

    def _open(self, messages: Sequence[ChatMessage]) -> ChatStream:
        plain = [{"role": m.role.value, "content": m.content or ""} for m in messages]
        return self._client.stream_text(plain, max_tokens=self.max_tokens)

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        with self._open(messages) as stream:
            text = "".join(stream)
        return _response(text, None, stream)

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        stream = self._open(messages)

        def gen() -> ChatResponseGen:
            text = ""
            with stream:
                for delta in stream:
                    text += delta
                    yield _response(text, delta, stream)

        return gen()

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        reply = self.chat([ChatMessage(role=MessageRole.USER, content=prompt)])
        return CompletionResponse(text=reply.message.content or "")

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        def gen() -> CompletionResponseGen:
            for part in self.stream_chat([ChatMessage(role=MessageRole.USER, content=prompt)]):
                yield CompletionResponse(text=part.message.content or "", delta=part.delta)

        return gen()


def _response(text: str, delta: str | None, stream: ChatStream) -> ChatResponse:
    """The answer so far, with what the client knows about the request it came from."""
    about = {REDACTIONS: stream.redactions, "prompt_hash": stream.prompt_hash}
    about["cached"] = stream.cached
    return ChatResponse(
        message=ChatMessage(role=MessageRole.ASSISTANT, content=text),
        delta=delta,
        additional_kwargs=about,
    )
