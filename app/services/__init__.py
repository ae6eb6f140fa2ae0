"""The use cases, one function each, that every entry point (CLI, API, UI, jobs) calls: calls
(ingest, import, delete), classification (one call, a batch), search and ask, label-quality runs."""
