"""CallScope application layer: settings, errors, component wiring and the CLI."""

import os

# Our own rich progress bars report progress; the tqdm bars that FlagEmbedding and
# faster-whisper draw would interleave with them. tqdm reads this when it is first imported,
# so it is set here, before any model library is.
os.environ.setdefault("TQDM_DISABLE", "1")
