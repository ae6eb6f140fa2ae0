"""The HTTP API (FastAPI): thin routes over ``app.services``."""

import os

# Our own rich progress bars (CLI) and job progress (API) report progress; the tqdm bars that
# FlagEmbedding and faster-whisper draw would interleave with them. tqdm reads this when it is
# first imported, so the entry points set it before any model library is imported.
os.environ.setdefault("TQDM_DISABLE", "1")

from app.api.app import create_app  # noqa: E402

__all__ = ["create_app"]
