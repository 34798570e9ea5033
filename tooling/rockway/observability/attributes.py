"""The names rockway's telemetry uses: its instrumentation scope and the span and metric attribute keys.

Database attributes are the stable OpenTelemetry semantic-convention names; `ATTRIBUTES` lists every key
rockway sets (besides the standard resource attributes), for dashboards, alerts and their checks.
"""

from __future__ import annotations

INSTRUMENTATION_NAME = "rockway"  # the tracer's and the meter's scope

DB_SYSTEM_NAME = "db.system.name"
DB_NAMESPACE = "db.namespace"
DB_OPERATION_NAME = "db.operation.name"
DB_COLLECTION_NAME = "db.collection.name"
DB_QUERY_TEXT = "db.query.text"
DB_RESPONSE_STATUS_CODE = "db.response.status_code"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
ERROR_TYPE = "error.type"
RUN_ID = "rockway.run_id"
COMMAND = "rockway.command"
STATEMENT_INDEX = "rockway.statement.index"
MIGRATION = "rockway.migration"
ASYNC_JOB = "rockway.async_job.id"
STATUS = "rockway.status"
JOB = "rockway.job"
PIPELINE = "rockway.pipeline"
CHECK_NAME = "rockway.check.name"
CHECK_SEVERITY = "rockway.check.severity"
CHECK_STATUS = "rockway.check.status"

ATTRIBUTES = frozenset(
    {
        DB_SYSTEM_NAME, DB_NAMESPACE, DB_OPERATION_NAME, DB_COLLECTION_NAME, DB_QUERY_TEXT, DB_RESPONSE_STATUS_CODE,
        SERVER_ADDRESS, SERVER_PORT, ERROR_TYPE, RUN_ID, COMMAND, STATEMENT_INDEX, MIGRATION, ASYNC_JOB, STATUS,
        JOB, PIPELINE, CHECK_NAME, CHECK_SEVERITY, CHECK_STATUS, "rockway.script", "rockway.action",
        "rockway.statements.total", "rockway.statements.start_at", "rockway.dry_run",
        "rockway.mv.health", "rockway.mv.checked", "rockway.mv.unhealthy", "rockway.mv.activated", "rockway.mv.findings",
    }
)
