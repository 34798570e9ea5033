"""Checks of the deployment files: docker-compose.yml, .env.example and deploy/.

The Compose file is checked with real Compose parsers, in two ways:

* ``schema``: the file, after Compose-style variable interpolation with the defaults from
  .env.example, is validated against the official Compose Specification JSON schema. The schema is
  vendored as tests/data/compose-spec.json, copied unchanged from github.com/compose-spec/compose-spec,
  schema/compose-spec.json at commit a08f8d51631b7127ddac3d2c65537db429d0f1d0 (Apache-2.0); it is the
  schema Docker Compose (compose-go) validates against. Needs the ``jsonschema`` package.
* ``compose-cli``: ``docker compose config`` (or a standalone Compose v2 ``docker-compose``) parses,
  interpolates and normalises the file. It needs no Docker engine; the test is skipped, with the reason,
  when no Compose v2 binary is installed.

Both models then go through the same structural checks (services, healthchecks, restart policies,
memory budget, published ports, secrets).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.compose import (COMPOSE_SCHEMA as SCHEMA, GIB, compose_references, interpolate, parse_bytes,
                                   parse_env_file, strings_in)
from tests.support.paths import REPO_ROOT as ROOT

COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
FE_CONF = ROOT / "deploy" / "starrocks" / "fe.conf"
BE_CONF = ROOT / "deploy" / "starrocks" / "be.conf"
COLLECTOR_CONFIG = ROOT / "deploy" / "otel-collector" / "config.yaml"
GCP_DIR = ROOT / "deploy" / "gcp"
PROVISION = GCP_DIR / "provision.sh"
STARTUP = GCP_DIR / "startup.sh"

VM_MEMORY = 32 * GIB  # e2-standard-8 / n2-standard-8
OS_RESERVE = 3 * GIB  # at least this much must stay outside the containers' limits
JVM_OVERHEAD = 2 * GIB  # FE container limit must exceed the FE heap by at least this much
BE_UNTRACKED = 2 * GIB  # BE container limit must exceed the BE's mem_limit by at least this much

SERVICES = ("fe", "be", "otel-collector")
LOOPBACK = "127.0.0.1"
SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|PWD|SECRET|TOKEN|KEY)$", re.IGNORECASE)
SECRET_LITERAL = re.compile(
    r"GOOG1[A-Z0-9]{20,}"  # Cloud Storage HMAC access id
    r"|AKIA[0-9A-Z]{16}"  # AWS access key id
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|\"private_key\"\s*:"  # service-account key file
)

# Keys the conf files may set, each checked against the StarRocks docs (FE_configuration /
# BE_configuration) or the image's default conf file (upper-case keys read by bin/start_*.sh).
KNOWN_FE_KEYS = {
    "LOG_DIR", "DATE", "JAVA_OPTS", "sys_log_level", "http_port", "rpc_port", "query_port",
    "edit_log_port", "mysql_service_nio_enabled", "meta_dir", "default_replication_num",
    "enable_fast_schema_evolution", "priority_networks", "label_keep_max_second",
}
KNOWN_BE_KEYS = {
    "sys_log_level", "be_port", "be_http_port", "heartbeat_service_port", "brpc_port", "mem_limit",
    "storage_root_path", "JAVA_OPTS", "priority_networks",
}


# ----------------------------------------------------------------------------- helpers

def parse_conf(path: Path) -> list[tuple[int, str, str, list[str]]]:
    """(line number, key, value, preceding comment lines) for every setting of a StarRocks conf file."""
    entries = []
    comments: list[str] = []
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line:
            comments = []
            continue
        if line.startswith("#"):
            comments.append(line)
            continue
        assert "=" in line, f"{path.name}:{number}: not key = value: {raw!r}"
        key, value = (part.strip() for part in line.split("=", 1))
        entries.append((number, key, value, comments))
        comments = []
    return entries


def conf_values(path: Path) -> dict[str, str]:
    return {key: value for _, key, value, _ in parse_conf(path)}


def parse_starrocks_bytes(value: str) -> int:
    """StarRocks mem_limit such as 20G (percentages are not used in this deployment)."""
    match = re.fullmatch(r"(\d+)\s*([KMGT]?)B?", value.strip(), re.IGNORECASE)
    assert match, f"mem_limit must be an absolute size here, got {value!r}"
    return int(match.group(1)) * 1024 ** "_KMGT".index(match.group(2).upper() or "_")


def published_ports(service: dict) -> list[dict]:
    """Published ports as dicts with host_ip, published and target, for short and long syntax."""
    result = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            result.append({"host_ip": port.get("host_ip", ""), "published": str(port.get("published", "")),
                           "target": int(port["target"])})
            continue
        spec = str(port).split("/")[0]
        parts = spec.rsplit(":", 2)
        if len(parts) == 3:
            host_ip, published, target = parts
        elif len(parts) == 2:
            host_ip, (published, target) = "", parts
        else:
            host_ip, published, target = "", "", parts[0]
        result.append({"host_ip": host_ip, "published": published, "target": int(target)})
    return result


def healthcheck_test(service: dict) -> list[str]:
    test = (service.get("healthcheck") or {}).get("test")
    if isinstance(test, str):
        return ["CMD-SHELL", test]
    return list(test or [])


def command_of(service: dict) -> list[str]:
    command = service.get("command") or []
    return command.split() if isinstance(command, str) else list(command)


def volume_targets(service: dict) -> dict[str, dict]:
    """target path -> {source, type, read_only} for short and long volume syntax."""
    result = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            result[volume["target"]] = {"source": volume.get("source"), "type": volume.get("type"),
                                        "read_only": bool(volume.get("read_only"))}
            continue
        parts = volume.split(":")
        source, target = parts[0], parts[1]
        mode = parts[2] if len(parts) > 2 else ""
        kind = "bind" if source.startswith((".", "/", "~")) else "volume"
        result[target] = {"source": source, "type": kind, "read_only": "ro" in mode.split(",")}
    return result


# ----------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def raw_compose() -> dict:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    return parse_env_file(ENV_EXAMPLE)


def _compose_cli() -> list[str] | None:
    """A Compose v2 command line: the docker CLI plugin, else a standalone docker-compose v2."""
    candidates = []
    if shutil.which("docker"):
        candidates.append(["docker", "compose"])
    if shutil.which("docker-compose"):
        candidates.append(["docker-compose"])
    for cli in candidates:
        try:
            out = subprocess.run([*cli, "version", "--short"], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode == 0 and re.match(r"v?2\.", out.stdout.strip()):
            return cli
    return None


@pytest.fixture(scope="module", params=["schema", "compose-cli"])
def model(request, raw_compose, env_example) -> dict:
    """The Compose file as parsed, interpolated and validated by a real Compose parser."""
    if request.param == "schema":
        jsonschema = pytest.importorskip(
            "jsonschema", reason="jsonschema is not installed (needed to apply the Compose Specification schema)")
        interpolated = interpolate(raw_compose, env_example)
        validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
        errors = sorted(validator.iter_errors(interpolated), key=lambda e: list(e.absolute_path))
        assert not errors, "\n".join(
            f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors)
        return interpolated

    cli = _compose_cli()
    if cli is None:
        pytest.skip("no Compose v2 binary: neither `docker compose` (CLI plugin) nor a standalone "
                    "`docker-compose` v2 is installed (the schema-based variant of these checks runs without it)")
    names = {name for name, _, _ in compose_references(raw_compose)}
    env = {key: value for key, value in os.environ.items()
           if key not in names and not key.startswith("COMPOSE_")}
    out = subprocess.run(
        [*cli, "--project-directory", str(ROOT), "-f", str(COMPOSE_FILE), "--env-file", str(ENV_EXAMPLE),
         "config", "--format", "json"],
        capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
    assert out.returncode == 0, f"{' '.join(cli)} config failed:\n{out.stderr}"
    return json.loads(out.stdout)


# ----------------------------------------------------------------------------- Compose structure

def test_services_exist(model):
    assert set(SERVICES) <= set(model["services"]), sorted(model["services"])


def test_starrocks_images_are_pinned_3x_and_identical(model):
    fe_image = model["services"]["fe"]["image"]
    be_image = model["services"]["be"]["image"]
    fe_match = re.fullmatch(r"starrocks/fe-ubuntu:(3\.\d+\.\d+)", fe_image)
    be_match = re.fullmatch(r"starrocks/be-ubuntu:(3\.\d+\.\d+)", be_image)
    assert fe_match, f"FE image must be starrocks/fe-ubuntu:<3.x.y>, got {fe_image}"
    assert be_match, f"BE image must be starrocks/be-ubuntu:<3.x.y>, got {be_image}"
    assert fe_match.group(1) == be_match.group(1), "FE and BE must run the same version"
    collector = model["services"]["otel-collector"]["image"]
    assert re.fullmatch(r"otel/opentelemetry-collector-contrib:\d+\.\d+\.\d+", collector), collector


@pytest.mark.parametrize("service,url", [("fe", "http://localhost:8030/api/health"),
                                         ("be", "http://localhost:8040/api/health")])
def test_starrocks_healthchecks(model, service, url):
    test = healthcheck_test(model["services"][service])
    assert test[:1] == ["CMD"] and "curl" in test and "-f" in test and url in test, test


def test_collector_health_is_probed_from_the_host(model):
    # The contrib image is FROM scratch (no curl/wget); its health_check extension is published instead.
    ports = published_ports(model["services"]["otel-collector"])
    assert 13133 in {p["target"] for p in ports}
    config = yaml.safe_load(COLLECTOR_CONFIG.read_text())
    assert "health_check" in config["extensions"]
    assert "health_check" in config["service"]["extensions"]


def test_restart_policies(model):
    for name in SERVICES:
        assert model["services"][name].get("restart") in ("always", "unless-stopped"), name


def test_be_waits_for_healthy_fe_and_registers_itself(model):
    be = model["services"]["be"]
    depends = be.get("depends_on")
    assert isinstance(depends, dict) and depends["fe"]["condition"] == "service_healthy", depends
    command = command_of(be) + list(be.get("entrypoint") or [])
    assert "/opt/starrocks/be_entrypoint.sh" in command, command
    assert model["services"]["fe"]["hostname"] in command, "BE entrypoint must be given the FE's host name"
    assert not any("sleep" in part for part in command), "no sleep-and-hope registration"
    assert "/opt/starrocks/fe_entrypoint.sh" in command_of(model["services"]["fe"])
    for name in ("fe", "be"):
        assert model["services"][name]["environment"]["HOST_TYPE"] == "FQDN"


def test_memory_limits_fit_the_vm(model):
    limits = {}
    for name in SERVICES:
        service = model["services"][name]
        limit = service.get("mem_limit") or (
            service.get("deploy", {}).get("resources", {}).get("limits", {}).get("memory"))
        assert limit, f"{name} has no memory limit"
        limits[name] = parse_bytes(limit)
        if service.get("memswap_limit") is not None:
            assert parse_bytes(service["memswap_limit"]) == limits[name], f"{name}: swap allowed"
    total = sum(limits.values())
    assert total <= VM_MEMORY - OS_RESERVE, (
        f"containers may use {total / GIB:.1f} GiB; at most {(VM_MEMORY - OS_RESERVE) / GIB:.1f} GiB "
        f"leaves {OS_RESERVE / GIB:.0f} GiB for the OS")

    heap = re.search(r"-Xmx(\d+)([mMgG])", conf_values(FE_CONF)["JAVA_OPTS"])
    assert heap, "fe.conf JAVA_OPTS must set -Xmx"
    heap_bytes = int(heap.group(1)) * (GIB if heap.group(2).lower() == "g" else 1024**2)
    assert heap_bytes + JVM_OVERHEAD <= limits["fe"], "FE heap plus JVM overhead exceeds the FE's limit"

    be_mem = parse_starrocks_bytes(conf_values(BE_CONF)["mem_limit"])
    assert be_mem + BE_UNTRACKED <= limits["be"], "BE mem_limit leaves no headroom in the BE's limit"


def test_published_ports_are_loopback_and_minimal(model):
    allowed = {"fe": {9030, 8030}, "be": set(), "otel-collector": {4317, 4318, 13133}}
    for name, service in model["services"].items():
        ports = published_ports(service)
        for port in ports:
            assert port["host_ip"] == LOOPBACK, f"{name} publishes {port} beyond 127.0.0.1"
        assert {p["target"] for p in ports} <= allowed.get(name, set()), f"{name}: {ports}"
    assert {p["target"] for p in published_ports(model["services"]["fe"])} == {9030, 8030}
    for name in ("fe", "be"):
        assert not model["services"][name].get("network_mode"), "host networking would bypass the bindings"


def test_storage_and_conf_mounts(model):
    fe_volumes = volume_targets(model["services"]["fe"])
    be_volumes = volume_targets(model["services"]["be"])

    assert fe_volumes["/opt/starrocks/fe/conf/fe.conf"]["read_only"]
    assert Path(fe_volumes["/opt/starrocks/fe/conf/fe.conf"]["source"]).name == "fe.conf"
    assert be_volumes["/opt/starrocks/be/conf/be.conf"]["read_only"]
    assert Path(be_volumes["/opt/starrocks/be/conf/be.conf"]["source"]).name == "be.conf"

    meta_dir = conf_values(FE_CONF)["meta_dir"]
    assert fe_volumes[meta_dir]["type"] == "volume", "FE metadata must be on a named volume"

    storage = conf_values(BE_CONF)["storage_root_path"]
    paths = [part.split(",")[0].strip() for part in storage.split(";")]
    for path in paths:
        assert be_volumes[path]["type"] == "volume", f"BE storage {path} must be on a named volume"
    assert all("medium:ssd" in part.lower() for part in storage.split(";")), storage
    for name in ("fe-meta", "be-storage"):
        assert name in model["volumes"], name


# ----------------------------------------------------------------------------- variables and secrets

def test_every_variable_is_documented_in_env_example(raw_compose, env_example):
    references = compose_references(raw_compose)
    assert references, "docker-compose.yml uses no variables"
    missing = sorted({name for name, _, _ in references} - set(env_example))
    assert not missing, f"variables used in docker-compose.yml but missing from .env.example: {missing}"

    defaults: dict[str, set[str]] = {}
    for name, op, arg in references:
        if op in (":-", "-"):
            assert "${" not in (arg or ""), f"nested interpolation in the default of {name}"
            defaults.setdefault(name, set()).add(arg)
    for name, values in defaults.items():
        assert len(values) == 1, f"{name} has different defaults: {sorted(values)}"
        assert env_example[name] == next(iter(values)), (
            f".env.example sets {name}={env_example[name]!r}, docker-compose.yml defaults to {values}")


def test_secrets_are_references_without_defaults(raw_compose, env_example):
    for name, op, _ in compose_references(raw_compose):
        if SECRET_NAME.search(name):
            assert op is None, f"secret {name} must be ${{{name}}} without a default"
            assert env_example[name] == "", f".env.example must not contain a value for {name}"

    for service_name, service in raw_compose["services"].items():
        environment = service.get("environment") or {}
        if isinstance(environment, list):
            environment = dict(item.split("=", 1) if "=" in item else (item, None) for item in environment)
        for key, value in environment.items():
            if SECRET_NAME.search(key):
                assert isinstance(value, str) and re.fullmatch(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}", value), (
                    f"{service_name}.environment.{key} must be a bare ${{VAR}} reference, got {value!r}")
    for key, value in env_example.items():
        if SECRET_NAME.search(key):
            assert value == "", f".env.example must leave the secret {key} empty"


# `name: value` or `name=value` where the name says it holds a secret.
_SECRET_ASSIGNMENT = re.compile(
    r"(?P<name>[A-Za-z0-9_.-]*(?:password|passwd|pwd|secret|token|_key|-key))[\"']?\s*[:=]\s*[\"']?"
    r"(?P<value>[^\"'\s#]*)", re.IGNORECASE)


def test_no_literal_secrets_in_deployment_files():
    config_files = [COMPOSE_FILE, ENV_EXAMPLE, FE_CONF, BE_CONF, COLLECTOR_CONFIG, PROVISION, STARTUP]
    docs = [GCP_DIR / "README.md", ROOT / "deploy" / "signoz" / "README.md"]
    for path in config_files + docs:
        text = path.read_text()
        assert not SECRET_LITERAL.search(text), f"{path.relative_to(ROOT)} contains what looks like a key"
    for path in config_files:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if line.lstrip().startswith("#"):
                continue
            for match in _SECRET_ASSIGNMENT.finditer(line):
                value = match.group("value")
                placeholder = not value or value.startswith(("${", "$", "<"))
                assert placeholder, f"{path.relative_to(ROOT)}:{number}: literal secret value: {line.strip()!r}"
    for path in docs:
        # Shell/.env examples in the docs: NAME_KEY=<placeholder> or empty, never a value.
        for number, line in enumerate(path.read_text().splitlines(), 1):
            match = re.match(r"\s*(?:export\s+)?([A-Z0-9_]*(?:PASSWORD|SECRET|TOKEN|KEY))=(\S*)", line)
            if match:
                value = match.group(2)
                assert not value or value.startswith(("<", "$")), f"{path.relative_to(ROOT)}:{number}: {line!r}"


# ----------------------------------------------------------------------------- StarRocks conf files

@pytest.mark.parametrize("path,known", [(FE_CONF, KNOWN_FE_KEYS), (BE_CONF, KNOWN_BE_KEYS)],
                         ids=["fe.conf", "be.conf"])
def test_conf_settings_have_reasons_and_known_keys(path, known):
    entries = parse_conf(path)
    assert entries, f"{path.name} sets nothing"
    seen = set()
    for number, key, value, comments in entries:
        assert comments, f"{path.name}:{number}: {key} has no reason comment on the line above"
        assert key in known, f"{path.name}:{number}: {key} is not in the list of documented keys"
        assert key not in seen, f"{path.name}:{number}: {key} set twice"
        assert value, f"{path.name}:{number}: {key} has no value"
        seen.add(key)


def test_conf_values_for_a_single_node():
    fe = conf_values(FE_CONF)
    be = conf_values(BE_CONF)
    assert fe["default_replication_num"] == "1"
    assert fe["enable_fast_schema_evolution"] == "true"
    assert fe["query_port"] == "9030" and fe["http_port"] == "8030"
    assert be["be_http_port"] == "8040" and be["heartbeat_service_port"] == "9050"
    assert "${" not in fe["meta_dir"], "fe_entrypoint.sh reads meta_dir without expanding variables"


# ----------------------------------------------------------------------------- collector

def test_collector_pipelines_are_wired():
    config = yaml.safe_load(COLLECTOR_CONFIG.read_text())
    pipelines = config["service"]["pipelines"]
    assert {"traces", "metrics", "logs"} <= set(pipelines), sorted(pipelines)
    for signal in ("traces", "metrics", "logs"):
        pipeline = pipelines[signal]
        for kind in ("receivers", "processors", "exporters"):
            assert pipeline.get(kind), f"{signal} pipeline has no {kind}"
            for component in pipeline[kind]:
                assert component in (config.get(kind) or {}), f"{signal}: {component} is not defined in {kind}"
        processors = pipeline["processors"]
        assert processors[0] == "memory_limiter", f"{signal}: memory_limiter must come first"
        assert processors[-1] == "batch", f"{signal}: batch must come last"
        assert "resource" in processors
    attributes = {a["key"] for a in config["processors"]["resource"]["attributes"]}
    assert "deployment.environment" in attributes
    for endpoint in (config["receivers"]["otlp"]["protocols"][p]["endpoint"] for p in ("grpc", "http")):
        assert endpoint.endswith((":4317", ":4318")), endpoint


def test_collector_secrets_and_environment(raw_compose):
    config_text = COLLECTOR_CONFIG.read_text()
    config = yaml.safe_load(config_text)
    for name, exporter in config["exporters"].items():
        for header, value in (exporter or {}).get("headers", {}).items():
            assert re.fullmatch(r"\$\{env:[A-Za-z_][A-Za-z0-9_]*\}", str(value)), (
                f"exporter {name} header {header} must come from the environment")
    signoz = [e for e in config["exporters"].values() if "signoz-ingestion-key" in (e or {}).get("headers", {})]
    assert signoz, "an exporter must send the signoz-ingestion-key header"

    used = {name for text in strings_in(config)  # values only: comments mention ${env:NAME} generically
            for name in re.findall(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)", text)}
    assert used, "the collector configuration reads no environment variables"
    passed = set((raw_compose["services"]["otel-collector"].get("environment") or {}))
    assert used <= passed, f"collector variables not passed by docker-compose.yml: {sorted(used - passed)}"
    mounts = volume_targets(raw_compose["services"]["otel-collector"])
    assert mounts["/etc/otelcol-contrib/config.yaml"]["read_only"]


# ----------------------------------------------------------------------------- GCP

def test_gcp_scripts_are_valid_bash():
    for script in (PROVISION, STARTUP):
        text = script.read_text()
        assert "set -euo pipefail" in text, f"{script.name} must use set -euo pipefail"
        out = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, f"bash -n {script.name}:\n{out.stderr}"


def test_gcp_firewall_never_opens_starrocks_to_the_internet():
    for number, line in enumerate(PROVISION.read_text().splitlines(), 1):
        if "--source-ranges" in line or "--rules" in line and ("9030" in line or "8030" in line):
            assert "0.0.0.0/0" not in line, f"provision.sh:{number}: {line.strip()}"


def _run_provision(tmp_path: Path, *args: str, **env_overrides: str) -> tuple[subprocess.CompletedProcess, Path]:
    """Run provision.sh with a gcloud stub that records any call (a dry run must make none)."""
    stub_dir = tmp_path / "bin"
    stub_dir.mkdir(exist_ok=True)
    marker = tmp_path / "gcloud-was-called"
    stub = stub_dir / "gcloud"
    stub.write_text(f'#!/bin/sh\necho "$@" >> "{marker}"\nexit 1\n')
    stub.chmod(0o755)
    env = {"PATH": f"{stub_dir}{os.pathsep}{os.environ.get('PATH', '')}", "HOME": str(tmp_path),
           "PROJECT_ID": "example-project", **env_overrides}
    out = subprocess.run(["bash", str(PROVISION), *args], capture_output=True, text=True, timeout=60,
                         env=env, cwd=ROOT)
    return out, marker


def _firewall_rules(output: str) -> dict[str, str]:
    rules = {}
    for line in output.splitlines():
        if line.startswith("+ gcloud compute firewall-rules create"):
            name = line.split()[5]
            rules[name] = line
    return rules


@pytest.mark.parametrize("args,env", [((), {}), (("--dry-run",), {"APPLY": "1"})],
                         ids=["default", "dry-run-flag-beats-APPLY"])
def test_gcp_provision_dry_run(tmp_path, args, env):
    out, marker = _run_provision(tmp_path, *args, **env)
    assert out.returncode == 0, out.stderr
    assert not marker.exists(), f"dry run called gcloud: {marker.read_text()}"
    text = out.stdout
    assert "DRY RUN" in text
    for expected in ("--machine-type=e2-standard-8", "--type=pd-ssd", "--no-address",
                     "gcloud storage buckets create gs://example-project-rockway-sr-backup",
                     "--uniform-bucket-level-access", "--public-access-prevention", "--lifecycle-file=",
                     "gcloud storage hmac create", "--shielded-secure-boot"):
        assert expected in text, f"dry run does not show {expected}"
    rules = _firewall_rules(text)
    assert len(rules) == 2, rules
    for name, line in rules.items():
        assert "0.0.0.0/0" not in line, line
    ssh = next(line for line in rules.values() if "tcp:22" in line)
    assert "--source-ranges=35.235.240.0/20" in ssh
    starrocks = next(line for line in rules.values() if "9030" in line)
    assert "--rules=tcp:9030,tcp:8030" in starrocks and "--source-ranges=10.42.0.0/24" in starrocks
    assert "--target-tags=" in starrocks


@pytest.mark.parametrize("env", [{"STARROCKS_CLIENT_RANGES": "0.0.0.0/0"},
                                 {"STARROCKS_CLIENT_RANGES": "10.0.0.0/8,0.0.0.0/0"},
                                 {"PROJECT_ID": ""}],
                         ids=["open-to-internet", "open-in-list", "no-project"])
def test_gcp_provision_refuses_bad_settings(tmp_path, env):
    out, marker = _run_provision(tmp_path, **env)
    assert out.returncode != 0, out.stdout
    assert not marker.exists()
