"""The README's generated sections: one function per section, each returning Markdown text, registered here by
the name its markers carry.

Every function takes the DocsContext (the project's files, read once) and returns the text that goes between
the section's markers. None of them reads the clock or a database, except `live_snapshot` when the context
carries live data (`rockway docs update --live`). The functions live by section group: markdown.py (building
blocks and `contents`), layout.py, getting_started.py, pipelines.py, warehouse.py, reference.py; the runbook's
in rockway/docs/runbook.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from rockway.docs.context import DocsContext
from rockway.docs.runbook import runbook
from rockway.docs.sections.getting_started import environment_variables, setup
from rockway.docs.sections.layout import FOLDER_PURPOSES, architecture, directory_structure, undocumented_folders
from rockway.docs.sections.markdown import toc
from rockway.docs.sections.pipelines import cron_schedule, running_pipelines
from rockway.docs.sections.reference import cli_reference_section, lint_rules, monitoring
from rockway.docs.sections.warehouse import live_snapshot, migration_history, table_catalog

__all__ = ["SECTIONS", "SectionSpec", "FOLDER_PURPOSES", "undocumented_folders", "toc"]


@dataclass(frozen=True)
class SectionSpec:
    name: str
    summary: str
    render: Callable[[DocsContext], str]
    live: bool = False  # kept as it is unless `docs update --live`


SECTIONS: dict[str, SectionSpec] = {s.name: s for s in [
    SectionSpec("contents", "the README's `##` headings with links", lambda ctx: ""),
    SectionSpec("architecture", "Mermaid data-flow diagram from rockway.toml, jobs/ and repeatable/", architecture),
    SectionSpec("directory-structure", "top-level folders and files with their purpose", directory_structure),
    SectionSpec("setup", "step-by-step environment set-up: compose, first migration, first pipeline run", setup),
    SectionSpec("environment-variables", "environment variables from rockway.config.setting_docs() and the jobs/telemetry ones",
                environment_variables),
    SectionSpec("running-pipelines", "historical, incremental and backfill loads, verification", running_pipelines),
    SectionSpec("cron-schedule", "cron.d entries: command, schedule in words, time zone, purpose", cron_schedule),
    SectionSpec("table-catalog", "tables from migration headers and DDL; views and MVs from repeatable/", table_catalog),
    SectionSpec("live-snapshot", "row counts and next cron runs (only `docs update --live` rewrites it)", live_snapshot,
                live=True),
    SectionSpec("migration-history", "V/U/R counts, newest version, how to audit", migration_history),
    SectionSpec("monitoring", "SigNoz dashboards, alert rules and downtime windows", monitoring),
    SectionSpec("runbook", "on-call troubleshooting and release rollback (rockway/docs/runbook.md)", runbook),
    SectionSpec("lint-rules", "the rules of `rockway lint`: id, name, severity, what each flags (rockway.lint.rules)",
                lint_rules),
    SectionSpec("cli-reference", "every command's --help", cli_reference_section),
]}
