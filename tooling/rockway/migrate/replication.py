"""replication_num against the backends that can hold the replicas.

StarRocks keeps each replica of a tablet on a different backend, so a CREATE TABLE asking for more replicas than
there are alive backends fails, and it fails in the middle of a migration (replication_num defaults to 3;
a cluster with one backend needs 1). Two settings ask for replicas:

- `[env.NAME] replication_num` (ROCKWAY_REPLICATION_NUM): rockway's own tables (history, run lock);
- `[env.NAME.vars] replication_num` (ROCKWAY_VAR_REPLICATION_NUM): the template variable the scripts put into
  PROPERTIES ("replication_num" = "{{ replication_num }}").

`migrate up` compares both with the live cluster's alive backends before it writes anything; `rockway lint`, which
has no server, compares the rendered PROPERTIES with the environment's declared `backends` (lint/rules.py, SR022).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

from rockway.config import VAR_PREFIX, Settings
from rockway.errors import ConfigError

VARIABLE = "replication_num"


@dataclass(frozen=True)
class ReplicationSetting:
    where: str  # the setting as a person would look for it, e.g. `[env.prod.vars] replication_num`
    value: int


def _section(settings: Settings, vars_table: bool) -> str:
    base = f"[env.{settings.env}]" if settings.env else "[rockway]"
    return (base[:-1] + ".vars]") if vars_table else base


def replication_settings(settings: Settings, environ: Mapping[str, str] | None = None) -> list[ReplicationSetting]:
    """The replication_num values this environment asks for, each named where it is set."""
    environ = os.environ if environ is None else environ
    out = []
    if settings.replication_num:
        env_key = "ROCKWAY_REPLICATION_NUM"
        where = env_key if environ.get(env_key) else f"{_section(settings, False)} replication_num"
        out.append(ReplicationSetting(where, settings.replication_num))
    raw = settings.vars.get(VARIABLE)
    try:
        value = int(str(raw).strip()) if raw is not None and not isinstance(raw, bool) else None
    except ValueError:
        value = None  # not a number: the scripts render it and StarRocks says what it thinks of it
    if value:
        env_key = VAR_PREFIX + VARIABLE.upper()
        where = env_key if environ.get(env_key) else f"{_section(settings, True)} {VARIABLE}"
        out.append(ReplicationSetting(where, value))
    return out


def refuse_more_replicas_than_backends(settings: Settings, alive: int | None,
                                       environ: Mapping[str, str] | None = None) -> None:
    """ConfigError (exit 2) naming each setting that asks for more replicas than `alive` backends; None: unknown."""
    if alive is None:
        return
    over = [s for s in replication_settings(settings, environ) if s.value > alive]
    if not over:
        return
    asked = "; ".join(f"{s.where} = {s.value}" for s in over)
    raise ConfigError(f"{asked}, but the cluster has {alive} alive backend(s) (SHOW BACKENDS): every CREATE TABLE "
                      f"would fail, since each replica needs its own backend",
                      hint=f"Set {' and '.join(s.where for s in over)} to at most {alive} for this environment "
                           "(rockway.toml), or start more backends first.")
