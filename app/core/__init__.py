"""The floor every package stands on: settings, the exception tree, shared data types and text
helpers. It imports nothing else of the project (an import-linter contract checks it)."""
