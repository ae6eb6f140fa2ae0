"""The one chat-model client and what it is made of: ``client`` (JSON and streamed answers),
``retry``, ``cache``, ``stream``, ``parse``, ``prompts`` (helpers every prompt shares),
``pii`` (redaction of prompts bound for an external endpoint), ``turn_lines`` (a call as
numbered turn lines within a token budget) and ``summary`` (a call summarized with cited
turns)."""
