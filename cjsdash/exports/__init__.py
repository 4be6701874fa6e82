"""Board packs: Excel, PowerPoint, PDF and CSV made from the dashboard's own numbers.

A pack is declared in YAML (``cjsdash/exports/packs/*.yaml``, read by :mod:`.packs`):
sections → indicator ids → chart kind → commentary placeholders. :mod:`.content` builds the
pack's figures once, from :mod:`metrics.views` (the frames the pages show, with the same
disclosure control); each renderer (:mod:`.xlsx`, :mod:`.pptx`, :mod:`.pdf`, :mod:`.csv`)
only lays that content out, and draws charts with :mod:`layouts.charts`, the factories the
pages use, so a pack and the website cannot disagree. :mod:`.write` writes atomically.

Layers: this package imports ``metrics``, ``cjsdash.core`` and ``layouts.charts`` /
``layouts.theme`` only (an import-linter contract in ``pyproject.toml``); the ``/export``
page reaches it through the exporter the app factory puts in ``layouts.context``.
"""
