"""A serving process settles before its first request (decisions 33, 34 and 39)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]


def test_settle_freezes_the_start_up_objects_even_when_nothing_can_be_primed() -> None:
    """In a fresh interpreter with no app made: settle() cannot lay the overview out (no
    warehouse), says so and still freezes what is alive; nothing imports scipy.stats (35 MB
    and 0.6 CPU s, decision 39); at exit nothing is reported leaked."""
    code = (
        "import gc, sys\n"
        "import cjsdash.server as server\n"
        "assert server.settle() is None\n"
        "assert gc.get_freeze_count() > 50_000, gc.get_freeze_count()\n"
        "assert 'scipy.stats' not in sys.modules, 'something imports scipy.stats'\n"
        "import duckdb; duckdb.connect().execute('SELECT 1').fetchall()\n"
        "print('ok')\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=REPO)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "ok"
    assert "could not lay out the overview before the first request" in run.stderr
    assert "leaked" not in run.stderr  # the frozen objects go back to the collector at exit


@pytest.mark.parametrize("package", ["cjsdash", "metrics", "layouts", "ingest"])
def test_no_module_of_the_app_imports_scipy_stats(package: str) -> None:
    """Every distribution the app needs comes from scipy.special
    (metrics.statistics.distributions): scipy.stats would cost every serving process 35 MB
    and its first views 0.6 CPU s (decision 39). Tests may import it, to compare."""
    found = []
    for path in sorted((REPO / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [f"{node.module}.{a.name}" for a in node.names]
                     if isinstance(node, ast.ImportFrom) and node.module else [])
            found += [f"{path.relative_to(REPO)}:{node.lineno}" for name in names
                      if name == "scipy.stats" or name.startswith("scipy.stats.")]
    assert not found, found
