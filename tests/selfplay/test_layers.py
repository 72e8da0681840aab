"""The pure core imports alone, and the layers hold (import-linter, as `make lint` runs it)."""

import subprocess
import sys
from pathlib import Path

from tests.support.databases import REPO


def test_the_pure_core_imports_without_django_or_celery():
    code = ("import sys; sys.modules['celery'] = None; sys.modules['django'] = None; "
            "import selfplay.world, agents.brains, selfplay.canonical; print('ok')")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout.strip()) == (0, "ok"), result.stderr


def test_the_layers_contract_is_kept_with_nothing_ignored():
    import tomllib

    contracts = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layers = [c for c in contracts if c["type"] == "layers"]
    assert len(layers) == 1 and "ignore_imports" not in layers[0]
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint_imports)], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "BROKEN" not in result.stdout
