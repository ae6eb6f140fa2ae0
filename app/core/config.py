"""The one Settings object of CallScope.

Every knob is read here and nowhere else: library classes (WhisperModel, FlagModel, the stores)
get explicit arguments built from these values. Environment variables are the section name and
field joined by ``__`` (``QDRANT__URL``, ``WHISPER__MODEL``, ``LLM__BASE_URL``), the names the
docker-compose file and the README use; a ``.env`` file in the working directory is read too.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import AliasChoices, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

# The sections live in two modules by side; this one names them all (``from app.core.config
# import WhisperSettings`` is how the rest of the code reads them).
from app.core.config_ingest import (
    BUNDLED_E5,
    BUNDLED_MINILM,
    BUNDLED_WHISPER,
    DEFAULT_INDEX,
    LEGACY_DEFAULT_COLLECTION,
    BatchSettings,
    DiarizationSettings,
    EmbeddingSettings,
    IndexSettings,
    IngestSettings,
    PathsSettings,
    QdrantSettings,
    RaySettings,
    TokenizerSettings,
    WhisperSettings,
)
from app.core.config_services import (
    PII_KINDS,
    AlertSettings,
    ApiSettings,
    ClassifySettings,
    LabelQualitySettings,
    LLMSettings,
    PIISettings,
    SearchSettings,
)
from app.core.errors import ConfigError

__all__ = [
    "BUNDLED_E5",
    "BUNDLED_MINILM",
    "BUNDLED_WHISPER",
    "DEFAULT_INDEX",
    "LEGACY_DEFAULT_COLLECTION",
    "PII_KINDS",
    "AlertSettings",
    "ApiSettings",
    "BatchSettings",
    "ClassifySettings",
    "DiarizationSettings",
    "EmbeddingSettings",
    "IndexSettings",
    "IngestSettings",
    "LLMSettings",
    "LabelQualitySettings",
    "PIISettings",
    "PathsSettings",
    "QdrantSettings",
    "RaySettings",
    "SearchSettings",
    "Settings",
    "TokenizerSettings",
    "WhisperSettings",
    "get_settings",
    "load_settings",
]


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
    alerts: AlertSettings = AlertSettings()

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
