"""LlamaIndex on top of our store and our OpenAI-compatible settings.

- :class:`CallRetriever` is a LlamaIndex retriever over :class:`~retrieval.search.Searcher`, so
  it works on the embedded Qdrant Edge engine and on a Qdrant server alike (the store interface
  hides which), with our hybrid search and payload filters.
- :class:`OpenAICompatibleLLM` is a LlamaIndex LLM over the ``openai`` client pointed at
  ``LLM__BASE_URL``. (llama-index-llms-openai-like would pin ``openai`` below 3, which the rest
  of CallScope uses, so this small adapter stands in; it streams real chat completions.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import openai
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

from app.core.config import LLMSettings
from app.core.errors import LLMError
from retrieval.index.filters import CallFilter
from retrieval.search import Passage, Searcher


class CallRetriever(BaseRetriever):
    """Retrieves call passages as LlamaIndex nodes; each node keeps its :class:`Passage`."""

    def __init__(
        self,
        searcher: Searcher,
        *,
        k: int = 8,
        filters: CallFilter | dict[str, Any] | None = None,
        expand: bool | None = None,
    ) -> None:
        super().__init__()
        self.searcher = searcher
        self.k = k
        self.filters = filters
        self.expand = expand
        self.last_weak = False

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        result = self.searcher.search(
            query_bundle.query_str, filters=self.filters, k=self.k, expand=self.expand
        )
        self.last_weak = result.weak
        return [NodeWithScore(node=to_node(p), score=p.score) for p in result.passages]


def to_node(passage: Passage) -> TextNode:
    return TextNode(
        id_=f"{passage.call_id}:{passage.chunk_index}",
        text=passage.text,
        metadata={
            "call_id": passage.call_id,
            "start": passage.start,
            "end": passage.end,
            "speakers": passage.speakers,
            "labels": passage.labels,
            "citation": passage.citation,
            "passage": passage,
        },
        excluded_llm_metadata_keys=["passage", "labels"],
        excluded_embed_metadata_keys=["passage", "labels"],
    )


class OpenAICompatibleLLM(CustomLLM):
    """Chat completions from any OpenAI-compatible endpoint, as a LlamaIndex LLM."""

    model: str = "unknown"
    context_window: int = 8192
    max_tokens: int = 800
    temperature: float = 0.0
    _client: Any = PrivateAttr()

    def __init__(self, settings: LLMSettings, *, http_client: Any = None, **kwargs: Any) -> None:
        super().__init__(
            model=settings.model or "unknown", temperature=settings.temperature, **kwargs
        )
        api_key = settings.api_key.get_secret_value() if settings.api_key else ""
        self._client = openai.OpenAI(
            base_url=settings.base_url,
            api_key=api_key or "not-needed",
            timeout=settings.timeout,
            max_retries=settings.max_retries,
            http_client=http_client,
        )

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            context_window=self.context_window,
            num_output=self.max_tokens,
            model_name=self.model,
            is_chat_model=True,
        )

    def _create(self, messages: Sequence[ChatMessage], stream: bool) -> Any:
        try:
            return self._client.chat.completions.create(
                model=self.model,
                messages=[{"role": m.role.value, "content": m.content or ""} for m in messages],
                temperature=self.temperature,
                max_tokens=self.max_tokens,
                stream=stream,
            )
        except openai.OpenAIError as exc:
            raise LLMError(f"LLM request failed: {' '.join(str(exc).split())[:200]}") from exc

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        reply = self._create(messages, stream=False)
        text = reply.choices[0].message.content or ""
        return ChatResponse(
            message=ChatMessage(role=MessageRole.ASSISTANT, content=text), raw=reply
        )

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        stream = self._create(messages, stream=True)

        def gen() -> ChatResponseGen:
            text = ""
            try:
                for event in stream:
                    delta = event.choices[0].delta.content if event.choices else None
                    if delta:
                        text += delta
                        yield ChatResponse(
                            message=ChatMessage(role=MessageRole.ASSISTANT, content=text),
                            delta=delta,
                        )
            except openai.OpenAIError as exc:
                raise LLMError(f"LLM stream failed: {exc}") from exc

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
