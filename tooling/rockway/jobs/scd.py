"""The SELECTs of each load strategy, engine-neutral (engine spellings come from the adapter's Dialect).

SCD type 1 (`upsert`): the newest row per key (ROW_NUMBER over the watermark column), written as a full
row, so a new value replaces the old one. SCD type 2 (`scd2`; README, StarRocks specifics: "SCD type 2 in one
statement"):

  A. change set = per natural key the newest source row, kept when the key is new, or when it is newer
     than the current version AND the hash of its tracked attributes differs;
  B. one upsert writes both the closed current versions (valid_to = the change's effective_from,
     is_current = FALSE) and the new versions (valid_to = 9999-12-31 23:59:59, is_current = TRUE).

The surrogate key is a 60-bit hash of (natural key, valid_from), so a re-run rewrites the same rows. A
re-run after success finds no change (the current version already has that hash and valid_from), and a
late source row older than the current version is ignored (`s.effective_from > d.valid_from`).
"""

from __future__ import annotations

from typing import Sequence

from rockway.adapters.job_ops import MAX_DATETIME, Dialect

HASH_SEPARATOR = "#|#"
NULL_TEXT = "~null~"


def q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _audit(audit: Sequence[tuple[str, str]]) -> list[str]:
    return [f"{literal} AS {q(col)}" for col, literal in audit]


def copy_select(columns: Sequence[str], relation: str, *, audit: Sequence[tuple[str, str]] = (),
                where: str | None = None, unique: Sequence[str] = (), target: str | None = None) -> str:
    """SELECT the relation's columns (+ audit literals); `unique` skips rows the target already holds."""
    items = [f"x.{q(c)}" for c in columns] + _audit(audit)
    sql = f"SELECT {', '.join(items)}\nFROM {relation} AS x"
    conditions = [where] if where else []
    if unique:
        assert target is not None
        match = " AND ".join(f"e.{q(c)} = x.{q(c)}" for c in unique)
        conditions.append(f"NOT EXISTS (SELECT 1 FROM {target} AS e WHERE {match})")
    if conditions:
        sql += "\nWHERE " + "\n  AND ".join(conditions)
    return sql


def latest_select(columns: Sequence[str], relation: str, key: Sequence[str], order_by: str | None, *,
                  audit: Sequence[tuple[str, str]] = ()) -> str:
    """SCD1: one row per key, the newest by order_by (full rows, so the upsert replaces every column)."""
    order = f"t.{q(order_by)} DESC" if order_by else ", ".join(f"t.{q(k)}" for k in key)
    partition = ", ".join(f"t.{q(k)}" for k in key)
    items = [f"r.{q(c)}" for c in columns] + _audit(audit)
    return (f"SELECT {', '.join(items)}\nFROM (\n  SELECT t.*, ROW_NUMBER() OVER (PARTITION BY {partition} ORDER BY {order})"
            f" AS rw_rn\n  FROM {relation} AS t\n) AS r\nWHERE r.rw_rn = 1")


def attr_hash(dialect: Dialect, alias: str, tracked: Sequence[str]) -> str:
    """SHA-256 of the tracked attributes as text (NULL spelled out, so NULL and '' differ)."""
    parts = [f"COALESCE({dialect.text(f'{alias}.{q(c)}')}, {dialect.string(NULL_TEXT)})" for c in tracked]
    return dialect.sha256(f"CONCAT_WS({dialect.string(HASH_SEPARATOR)}, {', '.join(parts)})")


def scd2_change_select(dialect: Dialect, relation: str, dim: str, *, key: Sequence[str], tracked: Sequence[str],
                       effective_from: str, hash_column: str, valid_from: str, is_current: str) -> str:
    """Step A: the change set (key, tracked, rw_effective_from, rw_hash)."""
    keys = ", ".join(f"x.{q(k)}" for k in key)
    inner = ", ".join([f"x.{q(c)}" for c in (*key, *tracked)] + [f"x.{q(effective_from)} AS rw_effective_from",
                                                                   f"{attr_hash(dialect, 'x', tracked)} AS rw_hash"])
    outer = ", ".join([f"s.{q(c)}" for c in (*key, *tracked)] + ["s.rw_effective_from", "s.rw_hash"])
    join = " AND ".join(f"d.{q(k)} = s.{q(k)}" for k in key)
    return (f"SELECT {outer}\nFROM (\n  SELECT {inner},\n    ROW_NUMBER() OVER (PARTITION BY {keys} ORDER BY "
            f"x.{q(effective_from)} DESC) AS rw_rn\n  FROM {relation} AS x\n) AS s\n"
            f"LEFT JOIN {dim} AS d ON {join} AND d.{q(is_current)} = TRUE\n"
            f"WHERE s.rw_rn = 1\n  AND s.rw_effective_from IS NOT NULL\n"
            f"  AND (d.{q(key[0])} IS NULL OR (s.rw_effective_from > d.{q(valid_from)} AND s.rw_hash <> d.{q(hash_column)}))")


def scd2_columns(key: Sequence[str], tracked: Sequence[str], *, surrogate_key: str, hash_column: str, valid_from: str,
                 valid_to: str, is_current: str, audit: Sequence[tuple[str, str]] = ()) -> tuple[str, ...]:
    """Target columns written by step B, in order."""
    return (surrogate_key, *key, *tracked, hash_column, valid_from, valid_to, is_current, *(c for c, _ in audit))


def scd2_apply_select(dialect: Dialect, change: str, dim: str, *, key: Sequence[str], tracked: Sequence[str],
                      surrogate_key: str, hash_column: str, valid_from: str, valid_to: str, is_current: str,
                      audit: Sequence[tuple[str, str]] = ()) -> str:
    """Step B: closed versions of changed keys UNION ALL the new current versions."""
    join = " AND ".join(f"d.{q(k)} = c.{q(k)}" for k in key)
    audit_items = _audit(audit)
    closed = ", ".join([f"d.{q(surrogate_key)}"] + [f"d.{q(c)}" for c in (*key, *tracked)]
                       + [f"d.{q(hash_column)}", f"d.{q(valid_from)}", f"c.rw_effective_from AS {q(valid_to)}",
                          f"FALSE AS {q(is_current)}"] + audit_items)
    key_text = [dialect.text(f"c.{q(k)}") for k in key] + [dialect.datetime_text("c.rw_effective_from")]
    fresh = ", ".join([f"{dialect.hash_key(key_text)} AS {q(surrogate_key)}"] + [f"c.{q(c)}" for c in (*key, *tracked)]
                      + [f"c.rw_hash AS {q(hash_column)}", f"c.rw_effective_from AS {q(valid_from)}",
                         f"{dialect.datetime_from_text(MAX_DATETIME)} AS {q(valid_to)}", f"TRUE AS {q(is_current)}"]
                      + audit_items)
    return (f"SELECT {closed}\nFROM {dim} AS d\nJOIN {change} AS c ON {join}\n"
            f"WHERE d.{q(is_current)} = TRUE AND d.{q(valid_from)} < c.rw_effective_from\n"
            f"UNION ALL\nSELECT {fresh}\nFROM {change} AS c")
