"""The metrics rockway emits, over the OpenTelemetry metrics API (the SDK, when any, is set up by the CLI).

Instruments are created on first use from the current global meter provider; without an SDK every record
is a no-op. Registry: `EMITTED_METRICS` (dashboards and alerts may only use these):
    db.client.operation.duration  histogram, s   per statement (semconv name; recorded by spans.statement_span)
    rockway.migration.duration    histogram, s   per migration script (recorded by spans.migration_span)
    rockway.errors                counter        errors by error.type (statement failures, count_error)
    rockway.rows.loaded           counter, rows  record_rows_loaded(table, rows, job=None)
    rockway.load.duration         histogram, s   record_load(duration_s, job, status, table=None)
    rockway.check.results         counter        record_check(severity, status, check=None, table=None)
    rockway.freshness.lag         gauge, s       record_freshness(table, lag_s)
    rockway.mv.staleness          gauge, s       record_mv_staleness(mv, staleness_s)
    rockway.mv.inactive           gauge, {mv}    record_mv_inactive(mv, inactive)  1 inactive, 0 active
`forward_measurements(sink)` hands every measurement to sink instead of the meter provider (tests read them so).

Attribute values: status is one of success|failed|partial|skipped for jobs and pipelines, ok|error
for statements and migrations; check status is pass|fail|error; severity CRITICAL|WARNING|INFO.
Tables are given as written (`dw.fact_sales`) in `db.collection.name`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from rockway import __version__
from rockway.observability.attributes import (
    CHECK_NAME,
    CHECK_SEVERITY,
    CHECK_STATUS,
    DB_COLLECTION_NAME,
    DB_NAMESPACE,
    DB_OPERATION_NAME,
    DB_RESPONSE_STATUS_CODE,
    DB_SYSTEM_NAME,
    ERROR_TYPE,
    INSTRUMENTATION_NAME,
    JOB,
    STATUS,
)


@dataclass(frozen=True)
class MetricSpec:
    """One metric rockway emits."""

    name: str
    kind: str  # counter | histogram | gauge
    unit: str
    description: str
    attributes: tuple[str, ...]


_DURATION_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)
_LAG_BUCKETS = (60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 21600.0, 43200.0, 86400.0, 172800.0, 604800.0)
_BUCKETS = {"rockway.freshness.lag": _LAG_BUCKETS}

EMITTED_METRICS: Mapping[str, MetricSpec] = {
    m.name: m
    for m in (
        MetricSpec("db.client.operation.duration", "histogram", "s", "Duration of database statements",
                   (DB_SYSTEM_NAME, DB_NAMESPACE, DB_OPERATION_NAME, DB_COLLECTION_NAME, ERROR_TYPE,
                    DB_RESPONSE_STATUS_CODE, STATUS)),
        MetricSpec("rockway.migration.duration", "histogram", "s", "Duration of migration scripts", (STATUS,)),
        MetricSpec("rockway.errors", "counter", "{error}", "Errors by error.type", (ERROR_TYPE, DB_SYSTEM_NAME, JOB)),
        MetricSpec("rockway.rows.loaded", "counter", "{row}", "Rows written into a table by a load",
                   (DB_COLLECTION_NAME, JOB)),
        MetricSpec("rockway.load.duration", "histogram", "s", "Duration of one job's load, by final status",
                   (JOB, STATUS, DB_COLLECTION_NAME)),
        MetricSpec("rockway.check.results", "counter", "{check}", "Data-quality check outcomes",
                   (CHECK_SEVERITY, CHECK_STATUS, CHECK_NAME, DB_COLLECTION_NAME)),
        MetricSpec("rockway.freshness.lag", "gauge", "s", "Age of the newest data in a table when measured",
                   (DB_COLLECTION_NAME,)),
        MetricSpec("rockway.mv.staleness", "gauge", "s", "Time since a materialized view was last refreshed",
                   (DB_COLLECTION_NAME,)),
        MetricSpec("rockway.mv.inactive", "gauge", "{mv}", "1 while a materialized view is inactive (no refresh, no"
                   " query rewrite), 0 when active; set by every reading of the MV catalog", (DB_COLLECTION_NAME,)),
    )
}


MeasurementSink = Callable[[str, float, Mapping[str, Any]], None]
_sink: MeasurementSink | None = None


def forward_measurements(sink: MeasurementSink | None) -> None:
    """Hand every measurement to sink(metric name, value, attributes) instead of the meter provider (None: stop)."""
    global _sink
    _sink = sink


def measurements_unread() -> bool:
    """True when no measurement can reach a reader: no forwarding sink, and the meter provider is the metrics
    API's own (its no-op, or its stand-in before a provider is set); an SDK or any other provider reads them."""
    if _sink is not None:
        return False
    from opentelemetry import metrics  # the metrics API is imported on first use only

    return type(metrics.get_meter_provider()).__module__.startswith("opentelemetry.metrics")


class _Forwarding:
    """Stands in for an instrument while measurements are forwarded."""

    __slots__ = ("name", "sink")

    def __init__(self, name: str, sink: MeasurementSink) -> None:
        self.name, self.sink = name, sink

    def add(self, value: float, attributes: Mapping[str, Any] | None = None) -> None:
        self.sink(self.name, value, attributes or {})

    record = set = add


def _create(meter: Any, spec: MetricSpec) -> Any:
    if spec.kind == "counter":
        return meter.create_counter(spec.name, unit=spec.unit, description=spec.description)
    if spec.kind == "gauge":
        return meter.create_gauge(spec.name, unit=spec.unit, description=spec.description)
    return meter.create_histogram(spec.name, unit=spec.unit, description=spec.description,
                                  explicit_bucket_boundaries_advisory=_BUCKETS.get(spec.name, _DURATION_BUCKETS))


_instrument_cache: tuple[object, dict[str, Any]] | None = None


def _instrument(name: str) -> Any:
    """The instrument `name` from the current global meter provider, created on first use."""
    global _instrument_cache
    if _sink is not None:
        return _Forwarding(name, _sink)
    from opentelemetry import metrics  # the metrics API is imported on first use only

    provider = metrics.get_meter_provider()
    cached = _instrument_cache
    if cached is None or cached[0] is not provider:
        cached = (provider, {})
        _instrument_cache = cached
    instruments = cached[1]
    instrument = instruments.get(name)
    if instrument is None:
        instrument = instruments[name] = _create(provider.get_meter(INSTRUMENTATION_NAME, __version__),
                                                 EMITTED_METRICS[name])
    return instrument


def _clean(attrs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attrs.items() if v is not None}


def _text(value: Any) -> str:
    """An enum's value or the text of value (Severity.CRITICAL -> "CRITICAL")."""
    return str(getattr(value, "value", value))


def record_statement(
    duration_s: float, engine: str, status: str, *, operation: str | None = None, error_type: str | None = None,
    namespace: str | None = None, collection: str | None = None, response_code: str | None = None,
) -> None:
    """Record one statement's duration (db.client.operation.duration)."""
    attrs = _clean({DB_SYSTEM_NAME: engine, STATUS: status, DB_OPERATION_NAME: operation or None,
                    DB_NAMESPACE: namespace or None, DB_COLLECTION_NAME: collection or None, ERROR_TYPE: error_type,
                    DB_RESPONSE_STATUS_CODE: response_code})
    _instrument("db.client.operation.duration").record(duration_s, attrs)


def record_migration(duration_s: float, status: str) -> None:
    """Record one migration script's duration (rockway.migration.duration)."""
    _instrument("rockway.migration.duration").record(duration_s, {STATUS: status})


def count_error(error_type: str, **attrs: Any) -> None:
    """Count one error by error.type (rockway.errors), with extra attributes as given."""
    _instrument("rockway.errors").add(1, _clean({ERROR_TYPE: error_type, **attrs}))


def record_rows_loaded(table: str, rows: int, job: str | None = None) -> None:
    """Count rows written into table by a load (rockway.rows.loaded); negative or unknown counts are ignored."""
    if rows is None or rows < 0:
        return
    _instrument("rockway.rows.loaded").add(int(rows), _clean({DB_COLLECTION_NAME: table, JOB: job}))


def record_load(duration_s: float, job: str, status: str, table: str | None = None) -> None:
    """Record one job load's duration with its final status (rockway.load.duration)."""
    _instrument("rockway.load.duration").record(duration_s, _clean({JOB: job, STATUS: _text(status),
                                                                     DB_COLLECTION_NAME: table}))


def record_check(severity: Any, status: str, check: str | None = None, *, table: str | None = None) -> None:
    """Count one check outcome (rockway.check.results) by severity (CRITICAL|WARNING|INFO) and status (pass|fail|error)."""
    _instrument("rockway.check.results").add(1, _clean({CHECK_SEVERITY: _text(severity).upper(),
                                                         CHECK_STATUS: _text(status), CHECK_NAME: check,
                                                         DB_COLLECTION_NAME: table}))


def record_freshness(table: str, lag_s: float) -> None:
    """Record how old the newest data in table is, in seconds (rockway.freshness.lag)."""
    _instrument("rockway.freshness.lag").set(float(lag_s), {DB_COLLECTION_NAME: table})


def record_mv_staleness(mv: str, staleness_s: float) -> None:
    """Record how long ago materialized view mv was last refreshed, in seconds (rockway.mv.staleness)."""
    _instrument("rockway.mv.staleness").set(float(staleness_s), {DB_COLLECTION_NAME: mv})


def record_mv_inactive(mv: str, inactive: bool) -> None:
    """Record whether materialized view mv is inactive: 1 or 0 (rockway.mv.inactive)."""
    _instrument("rockway.mv.inactive").set(1.0 if inactive else 0.0, {DB_COLLECTION_NAME: mv})
