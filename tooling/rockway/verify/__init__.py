"""Data verification: YAML checks compiled to one aggregate query per table and scope, anomaly math over
metric history, results in etl_check_result / etl_metric_history plus JSON/CSV reports, and notifications.

Jobs call it through `rockway.contracts.Verifier`; `CheckEngine` is the implementation:

    engine = CheckEngine.from_settings(settings)
    outcome = engine.verify(adapter, checks=["jobs/checks/sales.yaml"], scope={"window_start": ...},
                            run_id=run_id, pipeline="morning")
    if outcome.blocks: ...  # a CRITICAL check failed: stop before the watermark advances
"""

from __future__ import annotations

from rockway.verify.engine import CheckEngine, VerifyRun, exit_code
from rockway.verify.evaluate import CheckResult
from rockway.verify.settings import VerifySettings, load_verify_settings
from rockway.verify.spec import CheckFile, CheckSpec, TableSpec, parse_text

__all__ = ["CheckEngine", "CheckFile", "CheckResult", "CheckSpec", "TableSpec", "VerifyRun", "VerifySettings",
           "exit_code", "load_verify_settings", "parse_text"]
