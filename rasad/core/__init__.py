"""The ground: the article schema, settings, topic names, logging and the engine adapter.

Imports nothing above it (checked by import-linter in pyproject.toml)."""
