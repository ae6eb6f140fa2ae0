"""The one chat-model client (retries, cache, usage, redaction) and PII redaction."""
