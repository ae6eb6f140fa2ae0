"""The layer rule is checked by import-linter (``make test`` runs ``lint-imports``). These tests
show the contract holds on the tree and that it does catch a wrong import."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "ingest", "retrieval", "eval", "ui")
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT), "--no-cache"],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=120,
        # Only the copied tree is importable: the packages are found from the working dir.
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tree)},
    )


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not LINT.exists():
        pytest.skip("import-linter is not installed (pip install -e .[dev])")
    root = tmp_path_factory.mktemp("tree")
    shutil.copy(ROOT / "pyproject.toml", root)
    for name in PACKAGES:
        shutil.copytree(
            ROOT / name, root / name, ignore=shutil.ignore_patterns("*.mp3", "__pycache__")
        )
    return root


def _break(tree: Path, module: str, line: str) -> None:
    path = tree / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")


def test_the_tree_keeps_the_contracts(tree: Path) -> None:
    result = _lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # The floor imports nothing of the project.
        ("app/core/text.py", "import ingest.ledger  # noqa", "app.core is not allowed"),
        # ingest stands below search/classification (only the index is below it).
        ("ingest/pipeline.py", "import retrieval.search  # noqa", "ingest is not allowed"),
        # A domain package never reaches up to the services or an entry point.
        ("retrieval/search.py", "import app.services.calls  # noqa", "retrieval.search is not"),
        # The faces go through the services: no domain package, not even for a type.
        ("ui/calls.py", "import ingest.ledger  # noqa", "ui is not allowed to import ingest"),
        ("app/api/routes/calls.py", "import retrieval.index.store  # noqa", "app.api is not"),
        ("app/cli/query.py", "import eval.quality.engine  # noqa", "app.cli is not"),
    ],
)
def test_a_wrong_import_breaks_the_contract(
    tree: Path, tmp_path: Path, module: str, line: str, broken: str
) -> None:
    copy = tmp_path / "tree"
    shutil.copytree(tree, copy)
    _break(copy, module, line)
    result = _lint(copy)
    assert result.returncode != 0
    assert broken in result.stdout, result.stdout


#: The runtime's stores and ledger: only the services (and the runtime itself) touch them.
_BEHIND_THE_DOOR = {"ledger", "turns", "calls", "store"}
_FACES = ("app/cli", "app/api", "ui")


def _reaches_past_services(path: Path) -> list[str]:
    """``runtime.ledger``, ``ctx.runtime.turns``, ``rt.calls``... in a face's code."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Attribute) and node.attr in _BEHIND_THE_DOOR):
            continue
        owner = node.value
        name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
        if name in ("runtime", "rt"):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}.{node.attr}")
    return found


def test_no_face_touches_the_ledger_or_the_stores() -> None:
    reached = [
        hit
        for face in _FACES
        for path in sorted((ROOT / face).rglob("*.py"))
        for hit in _reaches_past_services(path)
    ]
    assert reached == [], "faces must go through app.services:\n" + "\n".join(reached)
