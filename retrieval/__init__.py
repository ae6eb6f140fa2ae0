"""The retrieval domain: the index (``retrieval.index``, below ingest), search, Q&A,
classification and the one LLM client (above ingest)."""
