"""The indicator registry, SQL generation, statistics and comparisons.

``metrics`` never imports ``ingest``: the two meet only in the warehouse contracts.
"""
