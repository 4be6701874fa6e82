"""Configuration, the DuckDB gateway, warehouse contracts, areas and periods.

Nothing here imports the rest of cjsdash: every other layer builds on it.
"""
