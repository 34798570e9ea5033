"""The README's generated sections: `rockway docs update` / `rockway docs check` on copies of this repository,
the marker parser, the cron.d reader, the table catalog, the Mermaid check and the command tree."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.paths import REPO_ROOT as REPO

from rockway.docs import DocsContext, SECTIONS, generate
from rockway.docs import markers
from rockway.docs.catalog import parse_ddl, read_header, header_text
from rockway.docs.cli_reference import commands_in, has_example, lacking, resolve, walk
from rockway.cron import next_runs, parse_cron, rockway_argv
from rockway.docs.cron import describe_schedule
from rockway.docs.mermaid import mermaid_blocks, validate_flowchart
from rockway.docs.sections import FOLDER_PURPOSES, undocumented_folders
from rockway.errors import InputError

IGNORE = shutil.ignore_patterns(".git", "__pycache__", ".pytest_cache", ".mypy_cache", ".import_linter_cache",
                                ".benchmarks", "*.egg-info", "node_modules", ".venv", "reports", ".rockway",
                                ".hypothesis")


@pytest.fixture(scope="module")
def tree() -> dict:
    from rockway.cli.command_tree import command_tree
    from rockway.cli.main import cli

    return command_tree(cli)


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """This repository (without .git and caches), with its README brought up to date."""
    target = tmp_path / "repo"
    shutil.copytree(REPO, target, ignore=IGNORE)
    result = run_cli(target, "docs", "update")
    assert result.code == 0, result.err + result.out
    return target


def _check(root: Path, **env: str):  # type: ignore[no-untyped-def]
    return run_cli(root, "docs", "check", env=env or None)


# --- end to end on a copy of the repository -----------------------------------------------------------
def test_check_passes_after_update_and_update_is_idempotent(repo_copy: Path) -> None:
    before = (repo_copy / "README.md").read_text(encoding="utf-8")
    result = _check(repo_copy)
    assert result.code == 0, result.out + result.err
    assert "up to date" in result.out
    again = run_cli(repo_copy, "docs", "update")
    assert again.code == 0 and "up to date" in again.out
    assert (repo_copy / "README.md").read_text(encoding="utf-8") == before


def test_check_fails_after_a_migration_header_changes_until_update(repo_copy: Path) -> None:
    script = repo_copy / "migrations" / "V2__stg_billing_item.sql"
    text = script.read_text(encoding="utf-8")
    assert "-- Owner: sales-data-engineering" in text
    script.write_text(text.replace("-- Owner: sales-data-engineering", "-- Owner: billing-squad", 1), encoding="utf-8")
    result = _check(repo_copy)
    assert result.code == 1, result.out + result.err
    assert "--- README.md (committed)" in result.out and "+++ README.md (generated)" in result.out
    added = [line for line in result.out.splitlines() if line.startswith("+") and "stg_billing_item" in line]
    removed = [line for line in result.out.splitlines() if line.startswith("-") and "stg_billing_item" in line]
    assert added and "billing-squad" in added[0] and removed and "billing-squad" not in removed[0]
    assert "docs update" in result.err
    assert run_cli(repo_copy, "docs", "update").code == 0
    assert _check(repo_copy).code == 0


def test_check_fails_after_a_purpose_continuation_line_changes(repo_copy: Path) -> None:
    script = repo_copy / "migrations" / "V12__etl_check_result.sql"
    text = script.read_text(encoding="utf-8")
    new = text.replace("observed and what was expected", "observed and the expectation", 1)
    assert new != text
    script.write_text(new, encoding="utf-8")
    result = _check(repo_copy)
    assert result.code == 1 and "observed and the expectation" in result.out


def test_check_fails_after_a_cron_line_changes_until_update(repo_copy: Path) -> None:
    cron = repo_copy / "cron.d" / "rockway"
    parsed = parse_cron(cron.read_text(encoding="utf-8"))
    assert parsed.entries, "cron.d/rockway has no entries"
    entry = parsed.entries[0]
    lines = cron.read_text(encoding="utf-8").splitlines(keepends=True)
    fields = lines[entry.line - 1].split(None, 5)
    lines[entry.line - 1] = "47 21 * * 0 " + fields[5]
    cron.write_text("".join(lines), encoding="utf-8")
    result = _check(repo_copy)
    assert result.code == 1, result.out + result.err
    assert any(line.startswith("+") and "at 21:47, Sunday" in line for line in result.out.splitlines())
    assert run_cli(repo_copy, "docs", "update").code == 0
    assert _check(repo_copy).code == 0
    readme = (repo_copy / "README.md").read_text(encoding="utf-8")
    assert "`47 21 * * 0`" in readme


def test_check_ignores_the_callers_environment_and_terminal(repo_copy: Path) -> None:
    result = _check(repo_copy, ROCKWAY_VAR_DW_DB="other_dw", ROCKWAY_ENV="dev", COLUMNS="40",
                    ROCKWAY_DSN="mysql://nobody@127.0.0.1:1/nothing")
    assert result.code == 0, result.out + result.err


def test_check_does_not_touch_the_readme(repo_copy: Path) -> None:
    readme = repo_copy / "README.md"
    stale = readme.read_text(encoding="utf-8").replace("- [Setup](#setup)\n", "")
    readme.write_text(stale, encoding="utf-8")
    assert _check(repo_copy).code == 1
    assert readme.read_text(encoding="utf-8") == stale


def test_hand_written_text_is_kept(repo_copy: Path) -> None:
    readme = repo_copy / "README.md"
    text = readme.read_text(encoding="utf-8")
    edited = text.replace("## Concepts\n", "## Concepts\n\nA hand-written note.\n", 1)
    readme.write_text(edited, encoding="utf-8")
    assert _check(repo_copy).code == 0
    assert run_cli(repo_copy, "docs", "update").code == 0
    assert "A hand-written note." in readme.read_text(encoding="utf-8")


@pytest.mark.parametrize("insert, message", [
    ("<!-- rockway:docs:begin bogus -->\n<!-- rockway:docs:end bogus -->\n", "unknown section 'bogus'"),
    ("<!-- rockway:docs:begin monitoring -->\n", "has no end marker"),
    ("<!-- rockway:docs:end setup -->\n", "end marker of 'setup' without a begin marker"),
    ("<!-- rockway:docs:begn setup -->\n", "malformed marker"),
])
def test_bad_markers_exit_2_naming_the_line(repo_copy: Path, insert: str, message: str) -> None:
    readme = repo_copy / "README.md"
    lines = readme.read_text(encoding="utf-8").splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith("## Concepts"))
    lines.insert(at, insert)
    readme.write_text("".join(lines), encoding="utf-8")
    for command in ("check", "update"):
        result = run_cli(repo_copy, "docs", command)
        assert result.code == 2, result.out + result.err
        assert f"README.md:{at + 1}" in result.err and message in result.err


def test_undocumented_top_level_folder_fails_check(repo_copy: Path) -> None:
    (repo_copy / "notebooks").mkdir()
    result = _check(repo_copy)
    assert result.code == 1
    assert "notebooks/: top-level folder without a purpose" in result.err


def test_minimal_project_without_jobs_cron_or_signoz(tmp_path: Path) -> None:
    """Every section renders for a project that has only migrations (jobs/, cron.d/, observability/ are optional)."""
    (tmp_path / "migrations").mkdir()
    (tmp_path / "rockway.toml").write_text('[rockway]\nenv = "prod"\n[rockway.vars]\ndw_db = "dw"\n'
                                           '[env.prod]\ndsn = "starrocks://u@h:9030/meta"\n', encoding="utf-8")
    (tmp_path / "migrations" / "V1__t.sql").write_text(
        "-- Table: {{ dw_db }}.t\n-- Purpose: a table\n-- Source: x\n-- Refresh: daily\n-- Owner: me\n"
        "CREATE TABLE {{ dw_db }}.t (a INT NOT NULL) DUPLICATE KEY (a) DISTRIBUTED BY HASH (a);\n", encoding="utf-8")
    readme = "# p\n\n" + "".join(f"## {name}\n\n{markers.begin_marker(name)}\n{markers.end_marker(name)}\n\n"
                                  for name in SECTIONS)
    (tmp_path / "README.md").write_text(readme, encoding="utf-8")
    assert run_cli(tmp_path, "docs", "update").code == 0
    result = _check(tmp_path)
    assert result.code == 0, result.out + result.err
    text = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "| `t` | `dw` | `DUPLICATE KEY (a)` | - | `HASH (a)` | a table | x | daily | me |" in text
    assert "No cron.d files." in text and "No SigNoz assets" in text
    blocks = mermaid_blocks(text)
    assert len(blocks) == 1 and validate_flowchart(blocks[0][1]) == []


# --- the README of this repository ----------------------------------------------------------------------
def test_every_top_level_folder_has_a_purpose() -> None:
    try:
        out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                             capture_output=True, text=True, check=True).stdout
        folders = {line.split("/", 1)[0] for line in out.splitlines() if "/" in line}
    except (OSError, subprocess.CalledProcessError):
        folders = {p.name for p in REPO.iterdir() if p.is_dir() and p.name != ".git"}
    missing = sorted(f for f in folders if f not in FOLDER_PURPOSES)
    assert not missing, f"top-level folders without a purpose in FOLDER_PURPOSES (rockway/docs/sections/layout.py): {missing}"
    assert undocumented_folders(REPO) == []


def test_readme_lint_rule_table_is_the_generated_one() -> None:
    """The rules table of the Lint section comes from the rule registry (rockway/lint/rules.py), so a new rule or a
    changed summary reaches the README through `rockway docs update`, and `docs check` fails while it has not."""
    from rockway.lint import rules_markdown

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    sections = {s.name: s for s in markers.parse(readme, known=frozenset(SECTIONS))}
    assert sections["lint-rules"].content == rules_markdown() + "\n"
    lines = readme.splitlines()
    assert lines.index("### Lint") < sections["lint-rules"].begin_line < lines.index("#### One rewrite per table per release")
    assert readme.count(rules_markdown().splitlines()[0]) == 1  # no hand-written copy left beside it


def test_undocumented_folders_skips_hidden_and_ignored(tmp_path: Path) -> None:
    for name in ("migrations", "extra", ".cache", "reports", "build", "venvish"):
        (tmp_path / name).mkdir()
    (tmp_path / ".gitignore").write_text("venvish/\n", encoding="utf-8")
    assert undocumented_folders(tmp_path) == ["extra"]


def test_readme_mermaid_blocks_parse() -> None:
    blocks = mermaid_blocks((REPO / "README.md").read_text(encoding="utf-8"))
    assert blocks, "the README has no Mermaid diagram"
    for line, block in blocks:
        assert block.startswith("flowchart LR"), line
        assert validate_flowchart(block) == [], (line, validate_flowchart(block))
    text = blocks[0][1]
    for expected in ("sales_raw", "sales_dw", "sales_secure", "sales_etl", "SigNoz", "JDBC catalog",
                     "mv_sales_daily", "v_sales", "rockway verify", "notifications"):
        assert expected in text


def test_mermaid_blocks_parse_with_mermaids_own_parser(tmp_path: Path) -> None:
    """With ROCKWAY_MERMAID_DIR naming a folder where `npm install mermaid jsdom` ran, parse each block with
    mermaid.parse() under node (no browser)."""
    folder = os.environ.get("ROCKWAY_MERMAID_DIR")
    if not folder or not (Path(folder) / "node_modules" / "mermaid").is_dir() or not shutil.which("node"):
        pytest.skip("set ROCKWAY_MERMAID_DIR to a folder with node_modules/mermaid and jsdom to run mermaid.parse()")
    script = Path(folder) / "rockway_mermaid_parse.mjs"
    script.write_text(
        "import { JSDOM } from 'jsdom';\n"
        "const dom = new JSDOM('<!doctype html><html><body></body></html>');\n"
        "globalThis.window = dom.window; globalThis.document = dom.window.document;\n"
        "const { default: mermaid } = await import('mermaid');\n"
        "const fs = await import('fs');\n"
        "try { await mermaid.parse(fs.readFileSync(0, 'utf8')); console.log('OK'); }\n"
        "catch (e) { console.log('ERR ' + e.message); process.exit(1); }\n", encoding="utf-8")
    for line, block in mermaid_blocks((REPO / "README.md").read_text(encoding="utf-8")):
        proc = subprocess.run(["node", str(script)], input=block, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0 and proc.stdout.startswith("OK"), (line, proc.stdout, proc.stderr)
    bad = subprocess.run(["node", str(script)], input="flowchart LR\n  a[\"x --> b\n", capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 1


def test_readme_is_current() -> None:
    """The committed README is what `docs update` writes (the same as `rockway docs check` in CI)."""
    from rockway.cli.command_tree import command_tree
    from rockway.cli.main import cli

    ctx = DocsContext.load(REPO, cli=command_tree(cli))
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert generate(text, ctx) == text, "README.md is stale: run `rockway docs update`"


def test_readme_keeps_the_two_setup_commands_at_the_top() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    first_block = text.split("```bash\n", 1)[1].split("```", 1)[0]
    assert "bash scripts/ensure-mariadb.sh && python3 -m pip install -e . && rockway migrate up" in first_block
    assert "python3 -m pip install -e '.[dev]'" in first_block
    assert text.index(first_block) < text.index("<!-- rockway:docs:begin")


def test_environment_table_is_generated_from_setting_docs() -> None:
    from rockway.config import setting_docs

    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("<!-- rockway:docs:begin environment-variables -->")[1].split("<!-- rockway:docs:end")[0]
    for row in setting_docs():
        line = next((l for l in section.splitlines() if l.startswith(f"| `{row['env']}` |")), None)
        assert line is not None, row["env"]
        assert row["doc"] in line
        assert ("**yes**" in line) == row["secret"]
    assert text.count("| Variable | Default | Meaning | Secret |") == 2  # the two generated tables, no hand-written one


def test_every_environment_variable_the_package_reads_is_documented() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`((?:ROCKWAY|OTEL)_[A-Z0-9_<>]+)`", text))
    names = set()
    for path in (REPO / "tooling" / "rockway").rglob("*.py"):
        names |= set(re.findall(r"[\"']((?:ROCKWAY)_[A-Z0-9_]+)[\"{]", path.read_text(encoding="utf-8")))
    missing = []
    for name in sorted(names):
        if name.endswith("_"):  # a prefix, e.g. ROCKWAY_VAR_ or ROCKWAY_SOURCE_
            if not any(d.startswith(name) for d in documented):
                missing.append(name)
        elif name not in documented:
            missing.append(name)
    assert not missing, f"environment variables read by rockway but not in the README: {missing}"


# --- commands ---------------------------------------------------------------------------------------------
def test_every_command_has_help_and_an_example(tree: dict) -> None:
    nodes = list(walk(tree))
    assert len(nodes) > 30
    gaps = lacking(tree)
    assert not gaps["help"], f"commands without help text: {gaps['help']}"
    assert not gaps["example"], f"commands without an Example:/Examples: block in their docstring: {gaps['example']}"


def test_has_example() -> None:
    assert has_example("Do it.\n\n\b\nExamples:\n  rockway x\n")
    assert has_example("Do it.\n\nExample:\n    rockway x --y\n")
    assert not has_example("Do it.\n\nExamples:\n\nNone here.")
    assert not has_example("For example: rockway x")
    assert not has_example(None)


def test_cli_reference_has_every_commands_help(tree: dict) -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("<!-- rockway:docs:begin cli-reference -->")[1].split("<!-- rockway:docs:end cli-reference")[0]
    for node in walk(tree):
        if node.get("hidden"):
            continue
        assert f"<code>{' '.join(node['path'])}</code>" in section
        usage = f"Usage: {' '.join(node['path'])} "
        assert usage in section, usage


def test_resolve(tree: dict) -> None:
    ok = ["rockway migrate up --resume", "rockway migrate repair --statement-done 3", "rockway lock release --yes",
          "rockway mv activate --refresh --env prod", "rockway run morning", "migrate rollback --to 1.2",
          "rockway job backfill fact_sales --from 2025-01-01 --to 2025-12-31", "rockway --env prod migrate info",
          "rockway verify --pipeline morning --scope a=b --scope c=d", "rockway docs check", "rockway migrate up --help"]
    for line in ok:
        assert resolve(tree, line.split()) is None, (line, resolve(tree, line.split()))
    bad = {"rockway migrate frobnicate": "has no command", "rockway migrate up --no-such": "has no option",
           "rockway job backfill": "needs 1 argument", "rockway lock": "is a command group",
           "rockway lock status extra": "takes 0 argument", "rockway migrate repair --statement-done": "needs a value",
           "kubectl get pods": "not a rockway command"}
    for line, why in bad.items():
        message = resolve(tree, line.split())
        assert message and why in message, (line, message)


def test_runbook_names_only_commands_that_exist(tree: dict) -> None:
    ctx = DocsContext.load(REPO, cli=tree)
    text = SECTIONS["runbook"].render(ctx)
    found = commands_in(text)
    assert len(found) >= 25
    problems = [(line, " ".join(argv), resolve(tree, argv)) for line, argv in found if resolve(tree, argv)]
    assert not problems, problems
    named = {" ".join(argv[:3]) for _, argv in found}
    for expected in ("rockway migrate up", "rockway migrate repair", "rockway lock status", "rockway lock release",
                     "rockway mv status", "rockway mv activate", "rockway verify --pipeline", "rockway migrate rollback",
                     "rockway job status", "rockway run evening"):
        assert expected in named, expected
    for sql in ("SHOW ALTER TABLE COLUMN FROM", "CANCEL ALTER TABLE COLUMN FROM", "SHOW BACKUP FROM",
                "SHOW SNAPSHOT ON gcs_backup"):
        assert sql in text
    versions = sorted(int(re.match(r"V(\d+)__", p.name).group(1)) for p in (REPO / "migrations").glob("V*.sql"))
    newest, previous = versions[-1], versions[-2]  # the runbook's examples name the repository's newest release
    for flag in ("--resume", f"--statement-done {newest}", f"rollback --to {previous}"):
        assert flag in text


def test_every_command_in_the_generated_sections_exists(tree: dict) -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    checked = 0
    for section in markers.parse(text, known=frozenset(SECTIONS)):
        if section.name == "cli-reference":
            continue
        for line, argv in commands_in(section.content):
            checked += 1
            assert resolve(tree, argv) is None, (section.name, section.begin_line + line, argv)
    assert checked > 40


def test_commands_in() -> None:
    text = ("Run `rockway lock status --env prod` or `rockway run evening|morning`.\n\n```bash\n"
            "export X=1\nROCKWAY_ENV=prod rockway migrate up \\\n  --dry-run    # comment\n"
            "$ migrate info --json > out.json\n```\n\n```sql\nSELECT 'rockway migrate up';\n```\n")
    assert commands_in(text) == [(1, ["rockway", "lock", "status", "--env", "prod"]),
                                 (6, ["rockway", "migrate", "up", "--dry-run"]),
                                 (7, ["migrate", "info", "--json"])]


# --- markers ------------------------------------------------------------------------------------------
DOC = """# Title
intro
<!-- rockway:docs:begin one -->
old one
<!-- rockway:docs:end one -->
middle
```markdown
<!-- rockway:docs:begin shown-in-a-fence -->
```
<!-- rockway:docs:begin two -->
<!-- rockway:docs:end two -->
tail
"""


def test_markers_replace_only_between_markers() -> None:
    out = markers.replace(DOC, {"one": lambda s: "new one\n", "two": lambda s: "two\n"})
    assert out == DOC.replace("old one\n", "new one\n").replace(
        "<!-- rockway:docs:begin two -->\n", "<!-- rockway:docs:begin two -->\ntwo\n")
    sections = markers.parse(DOC)
    assert [(s.name, s.begin_line, s.end_line, s.content) for s in sections] == [
        ("one", 3, 5, "old one\n"), ("two", 10, 11, "")]


def test_markers_keep_sections_without_a_generator_and_crlf() -> None:
    crlf = DOC.replace("\n", "\r\n")
    out = markers.replace(crlf, {"two": lambda s: "a\nb\n"})
    assert "old one\r\n" in out and "a\r\nb\r\n" in out and "\n" not in out.replace("\r\n", "")


@pytest.mark.parametrize("text, line, message", [
    ("a\n<!-- rockway:docs:begin x -->\n<!-- rockway:docs:begin y -->\n", 2, "before the begin marker of 'y' at line 3"),
    ("<!-- rockway:docs:begin x -->\n<!-- rockway:docs:end y -->\n", 2, "closes section 'x'"),
    ("a\nb\n<!-- rockway:docs:end x -->\n", 3, "without a begin marker"),
    ("<!-- rockway:docs:begin x -->\nbody\n", 1, "has no end marker"),
    ("<!-- rockway:docs:begin x -->\n<!-- rockway:docs:end x -->\n<!-- rockway:docs:begin x -->\n"
     "<!-- rockway:docs:end x -->\n", 3, "appears twice"),
    ("text <!-- rockway:docs:begin x --> text\n", 1, "malformed marker"),
    ("<!-- rockway:docs:begin unknown -->\n<!-- rockway:docs:end unknown -->\n", 1, "unknown section 'unknown'"),
])
def test_marker_errors_name_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(InputError) as info:
        markers.parse(text, path="README.md", known=frozenset({"x", "y"}))
    assert info.value.line == line and message in info.value.message
    assert info.value.exit_code == 2
    assert f"README.md:{line}" in str(info.value)


# --- cron ---------------------------------------------------------------------------------------------------
CRON = """# header comment about the file
SHELL=/bin/sh
CRON_TZ=Europe/Berlin
MAILTO=""

# m h dom mon dow user command
# Nightly load of the dimensions.
30 19 * * 1-5  rockway  cd /opt/x && flock -n /run/lock/e.lock rockway run evening --env prod >> /var/log/e.log 2>&1

15 5 * * 2-6 rockway rockway run morning
CRON_TZ=UTC
# Weekly clean-up
@weekly root /usr/bin/true
0 */4 1 * * root echo hi
61 5 * * * root echo broken
"""


def test_parse_cron() -> None:
    cron = parse_cron(CRON, "cron.d/test")
    assert cron.env == {"SHELL": "/bin/sh", "CRON_TZ": "UTC", "MAILTO": ""}
    assert [(e.line, e.schedule, e.user, e.time_zone, e.comment) for e in cron.entries] == [
        (8, "30 19 * * 1-5", "rockway", "Europe/Berlin", "Nightly load of the dimensions."),
        (10, "15 5 * * 2-6", "rockway", "Europe/Berlin", ""),
        (13, "@weekly", "root", "UTC", "Weekly clean-up"),
        (14, "0 */4 1 * *", "root", "UTC", ""),
    ]  # line 15 has an invalid schedule: a problem, not an entry
    assert cron.entries[0].command.startswith("cd /opt/x && flock")
    assert [str(p) for p in cron.problems] == [
        "cron.d/test:15: schedule: '61 5 * * *' is not a valid cron schedule (minute hour day month weekday)"]
    assert rockway_argv(cron.entries[0].command) == ["rockway", "run", "evening", "--env", "prod"]
    assert rockway_argv("echo hi") is None


@pytest.mark.parametrize("expr, words", [
    ("30 19 * * 1-5", "at 19:30, Monday to Friday"),
    ("15 5 * * 2-6", "at 05:15, Tuesday to Saturday"),
    ("0 3 * * *", "at 03:00, every day"),
    ("0 6,18 * * sun", "at 06:00 and 18:00, Sunday"),
    ("*/15 * * * *", "every 15 minutes, every day"),
    ("5 * * * 1,3,5", "every hour at minute 5, Monday, Wednesday and Friday"),
    ("0 2 1 * *", "at 02:00, on day 1 of the month"),
    ("0 2 1 jan *", "at 02:00, on day 1 of the month, in January"),
    ("@daily", "every day at 00:00"),
])
def test_describe_schedule(expr: str, words: str) -> None:
    assert describe_schedule(expr) == words


def test_next_runs_follow_cron_tz_across_dst() -> None:
    entry = parse_cron("CRON_TZ=Europe/Berlin\n15 5 * * * u rockway run morning\n").entries[0]
    now = datetime(2026, 3, 28, 12, 0, tzinfo=timezone.utc)  # DST starts in Berlin on 2026-03-29
    runs = next_runs(entry, 2, now)
    assert [r.isoformat() for r in runs] == ["2026-03-29T05:15:00+02:00", "2026-03-30T05:15:00+02:00"]
    assert [r.astimezone(timezone.utc).hour for r in runs] == [3, 3]


# --- catalog ----------------------------------------------------------------------------------------------
def test_read_header_joins_continuation_lines() -> None:
    source = ("{% import 'macros/warehouse.sql' as wh -%}\n-- Table: {{ db }}.t\n-- Purpose: first line\n"
              "--          second line\n-- Source: src\n-- Refresh: daily\n-- Owner: team\n{#- not header #}\n"
              "-- a later comment\nCREATE TABLE x (a INT);\n")
    text = header_text(source)
    assert text.splitlines()[0] == "-- Table: {{ db }}.t" and "later comment" not in text
    assert read_header(text) == {"table": "{{ db }}.t", "purpose": "first line second line", "source": "src",
                                 "refresh": "daily", "owner": "team"}


def test_parse_ddl() -> None:
    sql = ("CREATE TABLE IF NOT EXISTS d.t (\n  a DATE NOT NULL,\n  b INT NOT NULL\n)\nPRIMARY KEY (a, b)\n"
           "COMMENT 'x'\nPARTITION BY date_trunc('day', a)\nDISTRIBUTED BY HASH (b)\nPROPERTIES (\"replication_num\" = \"3\")")
    assert parse_ddl(sql) == {"key_model": "PRIMARY KEY", "key_columns": "a, b",
                              "partitioning": "date_trunc('day', a)", "distribution": "HASH (b)"}
    assert parse_ddl("CREATE TABLE t (a INT) DUPLICATE KEY(a) DISTRIBUTED BY RANDOM BUCKETS 8")["distribution"] == \
        "RANDOM BUCKETS 8"


def test_catalog_of_the_warehouse() -> None:
    ctx = DocsContext.load(REPO)
    tables = {t.qualified: t for t in ctx.tables}
    fact = tables["sales_dw.fact_sales"]
    assert (fact.key_model, fact.partitioning) == ("PRIMARY KEY", "date_trunc('day', billing_date)")
    assert fact.key_columns.startswith("billing_date") and fact.owner == "sales-data-engineering"
    stg = tables["sales_raw.stg_billing_item"]
    assert stg.key_model == "DUPLICATE KEY" and stg.distribution == "HASH (vbeln)" and "VBRK" in stg.source
    assert "sales_dw.rls_entitlement" in tables and all(t.purpose and t.owner for t in tables.values())
    scripts_with_table = [s for s in ctx.scripts if s.kind.value == "V" and "-- Table:" in s.source]
    assert len(tables) == len(scripts_with_table)
    views = {v.qualified: v.kind for v in ctx.views}
    assert views["sales_dw.mv_sales_daily"] == "materialized view" and views["sales_secure.v_sales"] == "view"


# --- live snapshot (MariaDB) ------------------------------------------------------------------------------
@pytest.mark.mariadb
def test_update_live_counts_rows_and_check_keeps_the_snapshot(repo_copy: Path, mariadb_server: str) -> None:
    from tests.support.warehouse import Warehouse, admin_connection

    w = Warehouse(mariadb_server)
    try:
        w.create_meta()
        env = w.env()
        up = run_cli(repo_copy, "migrate", "up", env=env, timeout=300)
        assert up.code == 0, up.out + up.err
        conn = admin_connection(mariadb_server)
        with conn.cursor() as cur:
            cur.execute(f"INSERT INTO `{w.db('dw')}`.rls_entitlement (principal_type, principal_name, scope, scope_value)"
                        " VALUES ('USER', 'a', 'region', 'DE'), ('USER', 'b', 'region', 'AT'), ('ROLE', 'c', 'region', 'CH')")
        conn.close()
        live = run_cli(repo_copy, "docs", "update", "--live", env=env)
        assert live.code == 0, live.out + live.err
        readme = (repo_copy / "README.md").read_text(encoding="utf-8")
        section = readme.split("<!-- rockway:docs:begin live-snapshot -->")[1].split("<!-- rockway:docs:end")[0]
        assert f"| `{w.db('dw')}.rls_entitlement` | 3 |" in section
        assert f"| `{w.db('etl')}.etl_job_run` | 0 |" in section
        assert "from environment `dev`" in section and "Next runs" in section
        assert re.search(r"\| `rockway run evening --env prod` \| \w{3} \d{4}-\d\d-\d\d 19:30 CE", section)
        # check never connects and keeps the snapshot; a plain update keeps it too
        assert _check(repo_copy).code == 0
        assert run_cli(repo_copy, "docs", "update").code == 0
        assert (repo_copy / "README.md").read_text(encoding="utf-8") == readme
    finally:
        w.drop()


def test_update_live_without_a_database_exits_3_and_writes_nothing(repo_copy: Path) -> None:
    before = (repo_copy / "README.md").read_text(encoding="utf-8")
    result = run_cli(repo_copy, "docs", "update", "--live", "--dsn", "mysql://nobody@127.0.0.1:1/x",
                     env={"ROCKWAY_CONNECT_TIMEOUT": "2"})
    assert result.code == 3, result.out + result.err
    assert (repo_copy / "README.md").read_text(encoding="utf-8") == before
