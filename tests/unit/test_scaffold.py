"""`rockway init`: the project it writes and its refusals. That this repository's root files are the scaffold's
rendering: tests/project/test_scaffold.py; that the commands of a new project succeed on MariaDB:
tests/mariadb/test_scaffold.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from rockway import __version__
from rockway.scaffold import MAX_BACKENDS, Options, plan
from tests.support.compose import COMPOSE_SCHEMA, interpolate, parse_bytes, parse_env_file
from tests.support.scaffold import SHARED_WITH_ROOT, init

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover
    import tomli as tomllib  # type: ignore[no-redef]

SALES_FILES = ("migrations/V9__fact_sales.sql", "jobs/fact_sales.yaml", "jobs/checks/sales.yaml",
               "reference-data/dim_sales_group_code.csv")


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ----------------------------------------------------------------------------- what init writes


def test_init_writes_the_project_and_no_sales_warehouse(tmp_path):
    result = init(tmp_path, "shop")
    assert result.code == 0, result.err
    files = snapshot(tmp_path / "shop")
    for expected in ("rockway.toml", "README.md", ".gitignore", "migrations/V1__warehouse.sql",
                     "migrations/U1__warehouse.sql", "repeatable/R__v_daily_revenue.sql",
                     "repeatable/R__seed_currency.sql", "reference-data/currency.csv", "reference-data/currency.yaml",
                     "jobs/orders.yaml", "jobs/orders.sql", "jobs/pipelines.yaml", "jobs/checks/orders.yaml",
                     "jobs/jobs.toml", "cron.d/rockway", *SHARED_WITH_ROOT):
        assert expected in files, expected
    assert not any(name.startswith((".github", ".gitlab")) for name in files), "--ci defaults to none"
    assert not any(name in files for name in SALES_FILES)
    text = b"\n".join(files.values()).decode()
    assert "sales" not in text.lower(), "the scaffold speaks of this repository's sales warehouse"
    config = tomllib.loads(files["rockway.toml"].decode())
    assert config["env"]["dev"]["dsn"] == "mysql://root@127.0.0.1:3306/shop_rockway"
    assert config["env"]["dev"]["create_database"] is True
    assert config["env"]["prod"]["dsn"].startswith("starrocks://")
    assert config["rockway"]["vars"]["dw_db"] == "shop_dw"
    readme = files["README.md"].decode()
    assert "<!-- rockway:docs:begin contents -->" in readme and "<!-- rockway:docs:end setup -->" in readme


@pytest.mark.parametrize("backends", range(1, MAX_BACKENDS + 1))
def test_backends_give_as_many_be_services_and_matching_replication(backends):
    jsonschema = pytest.importorskip("jsonschema")
    files = plan(Options(name="shop", backends=backends))
    raw = yaml.safe_load(files["docker-compose.yml"])
    env = dict(line.split("=", 1) for line in files[".env.example"].decode().splitlines()
               if line and not line.startswith("#"))
    compose = interpolate(raw, env)
    errors = list(jsonschema.Draft7Validator(json.loads(COMPOSE_SCHEMA.read_text())).iter_errors(compose))
    assert not errors, [e.message for e in errors]

    bes = {name: svc for name, svc in compose["services"].items() if svc["image"].startswith("starrocks/be-")}
    assert len(bes) == backends
    assert {svc["hostname"] for svc in bes.values()} == {f"starrocks-be-{i}" for i in range(backends)}
    storage = [v.split(":")[0] for svc in bes.values() for v in svc["volumes"] if v.endswith("/be/storage")]
    assert len(set(storage)) == backends and set(storage) <= set(compose["volumes"])

    # Memory: every container limit together leaves at least 3 GiB of the 32 GB VM to the OS, and each BE's
    # own mem_limit stays 2 GiB below its container limit.
    total = sum(parse_bytes(svc["mem_limit"]) for svc in compose["services"].values())
    assert total <= (32 - 3) * 1024**3
    be_limit = files["deploy/starrocks/be.conf"].decode().split("\nmem_limit = ")[1].split("\n")[0]
    assert parse_bytes(env["BE_MEM_LIMIT"]) - parse_bytes(be_limit.replace("G", "g")) == 2 * 1024**3

    replicas = min(backends, 3)
    config = tomllib.loads(files["rockway.toml"].decode())
    assert config["env"]["prod"]["backends"] == backends
    assert config["env"]["prod"]["replication_num"] == replicas
    assert config["env"]["prod"]["vars"]["replication_num"] == replicas
    assert f"\ndefault_replication_num = {replicas}\n" in files["deploy/starrocks/fe.conf"].decode()


def test_env_example_parses_as_the_root_one_does(tmp_path):
    path = tmp_path / ".env.example"
    path.write_bytes(plan(Options(name="shop", backends=2))[".env.example"])
    values = parse_env_file(path)
    assert values["BE_MEM_LIMIT"] == "11g" and values["STARROCKS_ROOT_PASSWORD"] == ""


@pytest.mark.parametrize("args, absent, present", [
    (("--no-compose",), ("docker-compose.yml", ".env.example", "deploy/starrocks/fe.conf"), ("jobs/orders.yaml",)),
    (("--no-jobs",), ("jobs/orders.yaml", "cron.d/rockway", "migrations/V2__dev_source.sql"),
     ("docker-compose.yml", "migrations/V1__warehouse.sql")),
    (("--ci", "github"), (".gitlab-ci.yml",), (".github/workflows/rockway.yml",)),
    (("--ci", "gitlab"), (".github/workflows/rockway.yml",), (".gitlab-ci.yml",)),
])
def test_options_leave_parts_out(tmp_path, args, absent, present):
    result = init(tmp_path, "p", *args)
    assert result.code == 0, result.err
    files = snapshot(tmp_path / "p")
    assert not set(absent) & set(files)
    assert set(present) <= set(files)


@pytest.mark.parametrize("ci, path", [("github", ".github/workflows/rockway.yml"), ("gitlab", ".gitlab-ci.yml")])
def test_ci_runs_the_checks_and_the_starrocks_rehearsal(ci, path):
    # tests/project/test_ci_workflows.py checks every command of these files against the CLI and lints them.
    text = plan(Options(name="shop", ci=ci))[path].decode()
    yaml.safe_load(text)
    for command in ("rockway lint --env prod", "rockway migrate up --env dev", "rockway job validate",
                    "rockway docs check", "rockway rehearse --env prod --start-starrocks --junit reports/rehearse.xml",
                    f'pip install "rockway[rehearse]=={__version__}"'):
        assert command in text
    assert "goes here" not in text
    assert "mariadb" in text


# ----------------------------------------------------------------------------- refusals


def test_refuses_to_overwrite_and_force_replaces(tmp_path):
    assert init(tmp_path, "shop").code == 0
    project = tmp_path / "shop"
    (project / "rockway.toml").write_text("# mine\n")
    (project / "notes.txt").write_text("keep me\n")
    before = snapshot(project)

    refused = init(tmp_path, "shop")
    assert refused.code == 2
    n = len(plan(Options(name="shop")))
    assert f"{n} file(s) exist already: README.md" in refused.err and "--force" in refused.err
    assert snapshot(project) == before, "a refusal wrote something"

    forced = init(tmp_path, "shop", "--force")
    assert forced.code == 0, forced.err
    after = snapshot(project)
    assert after["rockway.toml"] == plan(Options(name="shop"))["rockway.toml"]
    assert after["notes.txt"] == b"keep me\n"


def test_refuses_when_one_file_exists_and_writes_none(tmp_path):
    target = tmp_path / "shop"
    (target / "jobs").mkdir(parents=True)
    (target / "jobs" / "orders.yaml").write_text("job: mine\n")
    result = init(tmp_path, "shop")
    assert result.code == 2 and "jobs/orders.yaml" in result.err
    assert snapshot(target) == {"jobs/orders.yaml": b"job: mine\n"}


@pytest.mark.parametrize("args, message", [
    (("a-file",), "a-file"),                                   # DIR is a file
    (("a-file/sub",), "a-file"),                               # DIR below a file
    (("1shop",), "--name"),                                    # the folder's name is no project name
    (("shop", "--name", "Shop-1"), "--name"),
    (("shop", "--backends", "0"), "--backends"),
    (("shop", "--backends", str(MAX_BACKENDS + 1)), "--backends"),
    (("shop", "--ci", "jenkins"), "--ci"),
    (("shop", "--bogus"), "--bogus"),
])
def test_bad_dir_or_option_exits_2_and_writes_nothing(tmp_path, args, message):
    (tmp_path / "a-file").write_text("x\n")
    before = snapshot(tmp_path)
    result = init(tmp_path, *args)
    assert result.code == 2, (result.out, result.err)
    assert message in result.err
    assert snapshot(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"], "a folder was created"
