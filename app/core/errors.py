"""The one exception tree of CallScope.

    CallScopeError                 base: every error we raise on purpose
    ├── ConfigError                settings that cannot work (bad values, missing model files)
    ├── InputError                 a user's input is unusable (missing file, unknown column,
    │   │                          empty file, unsupported type)
    │   └── NoSuchCall             no stored call by that id (the API answers 404)
    ├── AudioError                 a recording cannot be decoded (corrupt, truncated, too long)
    ├── TranscriptionError         the speech model failed on decodable audio
    ├── EmbeddingError             the embedding model failed or gave the wrong shape
    ├── StoreError                 the vector store failed (engine error, unreachable server)
    │   └── CollectionMismatchError  a collection built with another embedding model/dimension
    │       └── StaleIndexError      ... or by another CallScope version: `callscope reindex`
    └── LLMError                   the OpenAI-compatible endpoint failed or answered badly

Errors from the libraries below (PyAV, faster-whisper, FlagEmbedding, qdrant) are converted
where they enter our code with ``raise ... from exc`` so callers only ever catch these, and the
message is one line a user can act on.
"""

from __future__ import annotations


class CallScopeError(Exception):
    """Base of every error CallScope raises on purpose."""


class ConfigError(CallScopeError):
    """Settings that cannot work."""


class InputError(CallScopeError):
    """A user's input cannot be used as given."""


class NoSuchCall(InputError):
    """No stored call by that id (the API answers 404)."""


class AudioError(CallScopeError):
    """A recording cannot be decoded."""


class TranscriptionError(CallScopeError):
    """The speech model failed on audio that decoded."""


class EmbeddingError(CallScopeError):
    """The embedding model failed."""


class StoreError(CallScopeError):
    """The vector store failed."""


class StoreBusyError(StoreError):
    """The embedded collection is open in another process (one writer per state dir)."""


class CollectionMismatchError(StoreError):
    """The collection was built with a different embedding model or dimension."""


class StaleIndexError(CollectionMismatchError):
    """The collection was built by another CallScope version (index schema): re-index it."""


class StateError(CallScopeError):
    """The state dir's own records (the ledger of calls, the job table) are damaged or disagree
    with the vector store; ``callscope doctor`` repairs them."""


class LLMError(CallScopeError):
    """The OpenAI-compatible endpoint failed or answered outside the contract."""
