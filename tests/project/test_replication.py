"""replication_num of this repository's environments against its deployment: prod's settings and fe.conf's default
fit the BE services of docker-compose.yml (StarRocks keeps every replica of a tablet on its own backend, so more
replicas than alive backends make every CREATE TABLE fail; the rules: tests/unit/test_replication.py)."""

from __future__ import annotations

import yaml

from rockway.config import load_settings, parse_dsn
from rockway.migrate.replication import replication_settings
from tests.support.paths import REPO_ROOT


def compose_backends() -> int:
    """BE services of docker-compose.yml (the image starrocks/be-… or the BE entrypoint)."""
    services = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text(encoding="utf-8"))["services"]
    return sum(1 for s in services.values()
               if str(s.get("image", "")).startswith("starrocks/be") or "be_entrypoint" in " ".join(s.get("command") or []))


def test_prod_replication_fits_the_compose_deployment() -> None:
    backends = compose_backends()
    assert backends >= 1
    prod = load_settings(REPO_ROOT, env_name="prod", environ={})
    assert parse_dsn(prod.dsn or "").scheme == "starrocks"
    asked = replication_settings(prod, environ={})
    assert {s.where for s in asked} == {"[env.prod] replication_num", "[env.prod.vars] replication_num"}
    assert all(s.value <= backends for s in asked), asked
    assert prod.backends == backends, "[env.prod] backends must count the BE services of docker-compose.yml"


def test_the_compose_fe_default_matches_the_backends() -> None:
    """Tables without replication_num take fe.conf's default_replication_num: it must fit the backends too."""
    conf = (REPO_ROOT / "deploy" / "starrocks" / "fe.conf").read_text(encoding="utf-8")
    value = next(int(line.split("=")[1]) for line in conf.splitlines()
                 if line.strip().startswith("default_replication_num"))
    assert value <= compose_backends()
