"""The package's shape: imports point one way, and the code is ruff clean."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "ninepic_pipeline"

# What each layer may not import: the API client knows no Dagster or pandas (it keeps pages as
# Arrow columns, so pyarrow it may), the tables no HTTP or Dagster, the sandbox nothing of the
# pipeline it stands in front of.
FORBIDDEN = {
    "api": {"dagster", "pandas", "ninepic_pipeline.tables", "ninepic_pipeline.defs"},
    "tables": {"dagster", "requests", "ninepic_pipeline.defs", "ninepic_pipeline.api.client"},
    "sandbox": {
        "dagster",
        "pandas",
        "pyarrow",
        "requests",
        "ninepic_pipeline.api",
        "ninepic_pipeline.tables",
        "ninepic_pipeline.defs",
    },
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_point_one_way(layer):
    offending = {
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in (PACKAGE / layer).rglob("*.py")
        for name in _imports(path)
        if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN[layer])
    }
    assert offending == set()


def test_only_definitions_imports_defs():
    importers = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "defs" not in path.relative_to(PACKAGE).parts
        and any(n.startswith("ninepic_pipeline.defs") for n in _imports(path))
    }
    assert importers == {"definitions.py"}


def _ruff() -> str:
    found = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert found, "ruff is a test dependency: pip install -e '.[test]'"
    return found


def test_ruff_check_is_clean():
    root = PACKAGE.parent
    result = subprocess.run(
        [_ruff(), "check", "ninepic_pipeline", "tests"], cwd=root, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


def test_ruff_format_is_clean():
    root = PACKAGE.parent
    result = subprocess.run(
        [_ruff(), "format", "--check", "ninepic_pipeline", "tests"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    ("module", "absent"),
    [
        ("ninepic_pipeline.tables", ["requests", "dagster", "ninepic_pipeline.api.transport"]),
        ("ninepic_pipeline.api.client", ["dagster", "pandas"]),
        ("ninepic_pipeline.sandbox", ["requests", "dagster", "pandas", "pyarrow"]),
    ],
)
def test_importing_a_layer_loads_nothing_it_must_not_know(module, absent):
    """What actually ends up loaded, indirect imports included."""
    code = f"import sys, {module}; print(','.join(m for m in sys.argv[1:] if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code, *absent], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
