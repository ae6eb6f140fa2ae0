"""How a stored call went: who its speakers are and its conversation metrics."""

from __future__ import annotations

from typing import Any

from app.runtime import Runtime
from ingest.ledger import LedgerRow
from ingest.metrics import conversation_metrics
from ingest.roles import speaker_source


def conversation(runtime: Runtime, row: LedgerRow | None) -> dict[str, Any]:
    """``speakers`` (how they were found: channels, voices, uncertain, mono, transcript) and
    the metrics of ``ingest.metrics``, from the transcript as indexed; {} without one."""
    if row is None or row.transcript is None:
        return {}
    agent, customer = runtime.settings.whisper.channel_speakers
    return {
        "speakers": speaker_source(row.transcript, row.kind),
        **conversation_metrics(row.transcript, agent=agent, customer=customer),
    }
