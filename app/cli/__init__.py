"""The ``callscope`` command line: thin commands over ``app.services``."""

from app.cli.main import app

__all__ = ["app"]
