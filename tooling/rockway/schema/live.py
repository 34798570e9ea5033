"""The live schema: every managed object with its normalised DDL and that text's hash."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Sequence

from rockway.adapters.base import Adapter
from rockway.adapters.introspection import Introspection, SchemaObject
from rockway.adapters.registry import introspection
from rockway.observability.redaction import redact_secrets
from rockway.schema.scope import Scope


@dataclass(frozen=True)
class LiveObject:
    """One object as the server describes it now."""

    obj: SchemaObject
    ddl: str  # normalised (adapters/*/introspection.py)

    @property
    def qualified(self) -> str:
        return self.obj.qualified

    @property
    def kind(self) -> str:
        return self.obj.kind

    @property
    def ddl_hash(self) -> str:
        return ddl_hash(self.ddl)


def ddl_hash(ddl: str) -> str:
    """sha256 of the normalised DDL (hex)."""
    return hashlib.sha256(ddl.encode("utf-8")).hexdigest()


def read_live(adapter: Adapter, scope: Scope) -> list[LiveObject]:
    """The managed objects of the scope's databases with their DDL, sorted by database and name."""
    reader = introspection(adapter)
    return read_ddl(reader, managed_objects(reader, scope))


def managed_objects(reader: Introspection, scope: Scope) -> list[SchemaObject]:
    """The scope's objects, sorted by database and name, without their DDL (one catalog query)."""
    return [obj for obj in reader.objects(scope.databases) if scope.includes(obj.database, obj.name)]


def read_ddl(reader: Introspection, objects: Sequence[SchemaObject]) -> list[LiveObject]:
    """The objects with their normalised DDL (one SHOW CREATE each).

    Values in secret positions (a `"password"` property, credentials in a URL) are masked (redaction.py): the
    text goes to files, the snapshot table and notifications."""
    return [LiveObject(obj, redact_secrets(reader.ddl(obj))) for obj in objects]


def row_counts(adapter: Adapter, objects: list[LiveObject]) -> dict[str, int | str]:
    """`COUNT(*)` of each object (for `schema dump --live`); a failed count is its error text."""
    reader = introspection(adapter)
    out: dict[str, int | str] = {}
    for item in objects:
        try:
            out[item.qualified] = reader.row_count(item.obj)
        except Exception as exc:  # noqa: BLE001 - an unreadable MV is noted in its file, not fatal
            out[item.qualified] = f"unknown ({str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__})"
    return out
