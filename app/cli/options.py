"""Options several commands share."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

IndexOpt = Annotated[
    Optional[str],
    typer.Option(
        "--index",
        "--collection",
        help="The index (default: qdrant.index); its collections are <index>_turns and "
        "<index>_calls.",
    ),
]

AgentSpeakerOpt = Annotated[
    Optional[str],
    typer.Option(
        "--agent-speaker",
        help="Who the agent is in mono recordings whose speakers are told apart by voice: "
        "auto (greeting words, who speaks first), first, second, or swap the decided roles. "
        "A manifest's agent_speaker column wins for its rows.",
    ),
]

HotwordsOpt = Annotated[
    Optional[str],
    typer.Option(
        "--hotwords",
        help="Domain terms the recordings are listened for (product, plan and place names), "
        "comma-separated: 'Gold Plus, 京东, 八达岭'; added to whisper.hotwords.",
    ),
]

FilterOpt = Annotated[
    Optional[list[str]],
    typer.Option(
        "--filter",
        "-f",
        help="label=refund, call=123, speaker=agent, split=train, language=zh, "
        "date>=2026-10-01, date<=2026-10-31, and the metadata fields (agent=Li, team=..., "
        "tags=vip; ingest.metadata_fields) (repeatable).",
    ),
]
