"""The CallScope web UI: a Gradio Blocks app mounted at ``/ui`` in the API's FastAPI process.

It uses the API's one Runtime and job queue (``app.state``), the API's keys for its login, and
makes no request off the machine: analytics off before gradio is imported, system fonts only.
"""

from __future__ import annotations

import os

# Before any ``import gradio``: with analytics on, gradio and huggingface_hub phone home.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from ui.app import UI_PATH, build_blocks, mount_ui  # noqa: E402

__all__ = ["UI_PATH", "build_blocks", "mount_ui"]
