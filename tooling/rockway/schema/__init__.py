"""Schema files (one per table, view and materialized view) and drift detection.

scope.py    which databases and objects rockway manages
live.py     the live schema: normalised DDL (adapters/*/introspection.py) and its hash
header.py   the comment header of a schema file (purpose, history, writers, readers)
dump.py     `schema dump`: the files
diff.py     `schema diff`: files against the live schema
drift.py    the snapshot table written after each migration, and drift against it
api.py      the commands as functions (used by the CLI, `rehearse` and the pipelines)
"""
