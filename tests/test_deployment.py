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
    # The API must not start without a key, and it serves with the real command.
    assert app["environment"]["API__API_KEYS"].startswith("${CALLSCOPE_API_KEY:?")
    assert app["command"][:2] == ["callscope", "serve"]
    from app.cli.main import app as cli

    assert "serve" in {c.name or c.callback.__name__ for c in cli.registered_commands}
    assert compose["services"]["ollama"]["profiles"] == ["llm"]
    assert (ROOT / "Dockerfile").is_file()
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            for src in line.split()[1:-1]:
                assert (ROOT / src).exists(), src


def test_cluster_example_parses_and_wires_three_peers() -> None:
    from app.core.config import QdrantSettings

    here = ROOT / "qdrant" / "cluster"
    compose = yaml.safe_load((here / "docker-compose.yml").read_text())
    nodes = {k: v for k, v in compose["services"].items() if k.startswith("qdrant-")}
    assert len(nodes) == 3
    assert yaml.safe_load((here / "config.yaml").read_text())["cluster"]["enabled"] is True
    for name, node in nodes.items():
        config = node["volumes"][0].split(":")[0]
        assert (here / config).is_file()
        assert f"http://{name}:6335" in node["command"]  # each peer announces itself
        if name != "qdrant-1":
            assert "http://qdrant-1:6335" in node["command"]  # and joins the first
    app = compose["services"]["app"]
    assert (here / app["build"]["context"] / "Dockerfile").is_file()
    for key in ("SHARD_NUMBER", "REPLICATION_FACTOR", "WRITE_CONSISTENCY_FACTOR"):
        assert key.lower() in QdrantSettings.model_fields  # the app really reads these
        assert int(app["environment"][f"QDRANT__{key}"]) >= 1


def test_env_example_names_real_settings() -> None:
    from app.core.config import Settings

    sections = set(Settings.model_fields)
    for line in (ROOT / ".env.example").read_text().splitlines():
        line = line.lstrip("# ").strip()
        if "__" in line and "=" in line and line.split("=")[0].isupper():
            section, *path = line.split("=")[0].lower().split("__")
            assert section in sections, line
            model = Settings.model_fields[section].annotation
            for field in path:  # nested sections: WHISPER__DIARIZATION__SPEAKERS
                assert field in model.model_fields, line
                model = model.model_fields[field].annotation


def test_two_server_ray_setup_parses_and_wires_head_and_worker() -> None:
    here = ROOT / "deploy" / "two-servers"
    a = yaml.safe_load((here / "server-a.yml").read_text())["services"]
    b = yaml.safe_load((here / "server-b.yml").read_text())["services"]
    head, worker = a["head"], b["worker"]
    for service in (head, worker):
        assert (here / service["build"]["context"] / "Dockerfile").is_file()
        assert service["build"]["args"]["EXTRAS"] == "ray"
        assert service["command"][:2] == ["ray", "start"]
    assert "--head" in head["command"] and "--port=6379" in head["command"]
    assert any(arg.startswith("--address=${HEAD_ADDRESS:?") for arg in worker["command"])
    # 7 + 8 CPUs for actors: one core of server A is left to the driver and Qdrant.
    cpus = [int(arg.split("=")[1]) for arg in head["command"] + worker["command"] if "cpus" in arg]
    assert cpus == [7, 8]
    config = a["qdrant"]["volumes"][0].split(":")[0]
    assert (here / config).is_file()
    assert head["environment"]["QDRANT__URL"] == "http://127.0.0.1:6333"
    from app.core.config import Settings

    assert "threads_per_worker" in Settings.model_fields["whisper"].annotation.model_fields
    assert "ARG EXTRAS" in (ROOT / "Dockerfile").read_text()
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert any(dep.startswith("ray") for dep in extras["ray"])
