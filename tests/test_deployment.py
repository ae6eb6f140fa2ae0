"""docker-compose cannot run here (no Docker engine): check that its files parse and agree."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_compose_parses_and_references_files_that_exist() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    qdrant, app = compose["services"]["qdrant"], compose["services"]["app"]
    assert qdrant["image"].startswith("qdrant/qdrant")
    assert "healthcheck" in qdrant
    config = qdrant["volumes"][0].split(":")[0]
    assert (ROOT / config).is_file()
    yaml.safe_load((ROOT / config).read_text())
    assert app["depends_on"]["qdrant"]["condition"] == "service_healthy"
    assert app["environment"]["QDRANT__URL"] == "http://qdrant:6333"
    assert (ROOT / "Dockerfile").is_file()
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            for src in line.split()[1:-1]:
                assert (ROOT / src).exists(), src


def test_env_example_names_real_settings() -> None:
    from app.config import Settings

    sections = set(Settings.model_fields)
    for line in (ROOT / ".env.example").read_text().splitlines():
        line = line.lstrip("# ").strip()
        if "__" in line and "=" in line and line.split("=")[0].isupper():
            section, field = line.split("=")[0].lower().split("__", 1)
            assert section in sections, line
            assert field in Settings.model_fields[section].annotation.model_fields, line
