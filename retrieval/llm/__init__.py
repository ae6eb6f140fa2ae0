"""The one chat-model client and what it is made of: ``client`` (JSON and streamed answers),
``retry``, ``cache``, ``stream``, ``parse``, ``prompts`` (helpers every prompt shares) and
``pii`` (redaction of prompts bound for an external endpoint)."""
