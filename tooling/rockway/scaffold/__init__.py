"""Start a new warehouse project: `rockway init` (see api.py)."""

from rockway.scaffold.api import CI_CHOICES, MAX_BACKENDS, Options, create, default_name, plan

__all__ = ["CI_CHOICES", "MAX_BACKENDS", "Options", "create", "default_name", "plan"]
