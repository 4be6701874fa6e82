"""What the pages read: the warehouse and the registry, set once by the app factory.

Pages call :func:`get_context` inside ``layout()`` and callbacks, never at import time, so the
same page modules serve any warehouse (the demo, a test fixture, a partnership's own file).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from cjsdash.core.gateway import Warehouse
from metrics.registry import Registry


@dataclass(frozen=True)
class Context:
    warehouse: Warehouse
    registry: Registry

    def reader(self) -> duckdb.DuckDBPyConnection:
        """A read-only cursor for this thread (committed data only)."""
        return self.warehouse.reader()


_context: Context | None = None


def set_context(warehouse: Warehouse, registry: Registry) -> Context:
    global _context
    _context = Context(warehouse, registry)
    return _context


def get_context() -> Context:
    if _context is None:
        raise RuntimeError(
            "layouts context not set: create the app with cjsdash.server.create_app(warehouse)"
        )
    return _context
