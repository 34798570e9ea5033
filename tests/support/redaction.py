"""What the redaction tests share (tests/unit/test_redaction_defects.py on the functions, tests/mariadb's through the
CLI): a secret to look for in output, and a statement written as a MySQL executable comment."""

from __future__ import annotations

INDEX = "/*! CREATE INDEX IF NOT EXISTS ix_t_a ON t (a) */"  # macros/warehouse.sql's wh.index writes this shape
SECRET = "s3cretXYZ"  # distinctive: it appears in no message, name or keyword of its own accord
