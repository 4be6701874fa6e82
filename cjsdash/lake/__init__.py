"""The record-level rollup on an engine over a Parquet lake (DuckDB here, Spark on a cluster,
Athena/Trino from the printed SQL); the small result comes back to the warehouse.

See docs/decisions/0015-record-level-rollup-on-an-engine.md.
"""
