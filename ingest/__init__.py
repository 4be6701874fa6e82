"""Read the files analysts get, validate them, and load them into the warehouse.

One module per source format, each with a :class:`ingest.base.SourceSpec` and a ``read``
function; :mod:`ingest.pipeline` detects, hashes, and loads each file in one transaction.
"""
