"""A serving process settles before its first request (decisions 33 and 34)."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path


def test_settle_freezes_the_start_up_objects_then_imports_the_later_modules() -> None:
    """In a fresh interpreter: the server's modules do not import scipy.stats (0.6 CPU s
    at every start); settle() freezes what is alive and imports it in the background,
    frozen too once imported; at exit nothing is reported leaked."""
    code = (
        "import gc, sys\n"
        "import cjsdash.server as server\n"
        "assert 'scipy.stats' not in sys.modules, 'the server imports scipy.stats at start'\n"
        "thread = server.settle()\n"
        "frozen = gc.get_freeze_count()\n"
        "assert frozen > 50_000, frozen\n"
        "thread.join(60)\n"
        "assert 'scipy.stats' in sys.modules\n"
        "assert gc.get_freeze_count() > frozen\n"
        "import duckdb; duckdb.connect().execute('SELECT 1').fetchall()\n"
        "print('ok')\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=Path(__file__).parents[2])
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "ok"
    assert "leaked" not in run.stderr  # the frozen objects go back to the collector at exit


def test_settle_can_wait_for_the_later_modules() -> None:
    from cjsdash.server import settle

    try:
        assert settle(wait=True) is None
        assert "scipy.stats" in sys.modules
    finally:
        gc.unfreeze()
