"""Whether the figure mart answers for the warehouse as it is: asked before serving.

The figures (``mart.state``), the stage counts and coverage (``mart.stage_state``) and the
analyses (``mart.analysis_state``) each keep the warehouse stamp they were computed at
(:data:`cjsdash.core.snapshots.STAMP_SQL`); the figures and the analyses keep the options
too, and the analyses the registry. :func:`current` reads all of it with one query and
imports nothing heavier than the registry and the options: ``cjsdash serve``'s parent asks
it before starting its workers, where importing the mart's machinery (:mod:`metrics.mart`)
only to ask cost about half a CPU second of the start (decision 35). The pages' own checks
(:func:`metrics.mart.ready` and the tables' ``ready``) ask the same of each part.
"""

from __future__ import annotations

import hashlib
import json
import weakref

import duckdb

from cjsdash.core.snapshots import STAMP_SQL
from metrics.options import Options
from metrics.registry import Registry


def options_key(options: Options) -> str:
    return repr(options)


_REGISTRY_KEYS: weakref.WeakKeyDictionary[Registry, str] = weakref.WeakKeyDictionary()


def registry_key(registry: Registry) -> str:
    """A hash of every indicator's definition, worked out once per registry object (the
    mart analyses' readiness check asks for it on every page view)."""
    key = _REGISTRY_KEYS.get(registry)
    if key is None:
        text = json.dumps([i.model_dump(mode="json") for i in registry.indicators],
                          sort_keys=True, default=str)
        key = _REGISTRY_KEYS[registry] = hashlib.sha256(text.encode()).hexdigest()[:16]
    return key


_CURRENT_SQL = (
    "WITH now AS (" + STAMP_SQL + " AS stamp) SELECT coalesce("  # noqa: S608
    "(SELECT value FROM mart.state WHERE key = 'version') = (SELECT stamp FROM now) "
    "AND (SELECT value FROM mart.state WHERE key = 'options') = $options "
    "AND (SELECT value FROM mart.stage_state WHERE key = 'version') = (SELECT stamp FROM now) "
    "AND (SELECT value FROM mart.analysis_state WHERE key = 'version') = "
    "(SELECT stamp FROM now) "
    "AND (SELECT value FROM mart.analysis_state WHERE key = 'registry') = $registry "
    "AND (SELECT value FROM mart.analysis_state WHERE key = 'options') = $options, FALSE)")
"""The checks of :func:`metrics.mart.ready`, :func:`metrics.mart_stage_reads.ready` and
:func:`metrics.mart_analysis_reads.ready` in one query."""


def current(con: duckdb.DuckDBPyConnection, registry: Registry,
            options: Options | None = None) -> bool:
    """Whether every part of the mart — figures, stage counts and coverage, analyses —
    answers for the warehouse as it is now, under ``registry`` and ``options``."""
    params = {"options": options_key(options or Options()), "registry": registry_key(registry)}
    try:
        return bool(con.execute(_CURRENT_SQL, params).fetchall()[0][0])
    except duckdb.CatalogException:  # no mart yet, or one made before some of its tables
        return False
