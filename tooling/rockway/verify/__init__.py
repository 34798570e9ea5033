"""Data verification: YAML checks compiled to one aggregate query per table and scope, anomaly math over
metric history, results in etl_check_result / etl_metric_history plus JSON/CSV reports, and notifications.

Jobs call it through `rockway.interfaces.Verifier`; `CheckRunner` (verify/runner.py) is the implementation:

    runner = CheckRunner.from_settings(settings)
    outcome = runner.verify(adapter, checks=["jobs/checks/sales.yaml"], scope={"window_start": ...},
                            run_id=run_id, pipeline="morning")
    if outcome.blocks: ...  # a CRITICAL check failed: stop before the watermark advances
"""

from __future__ import annotations

from rockway.verify.evaluate import CheckResult
from rockway.verify.model import CheckFile, CheckSpec, TableSpec
from rockway.verify.report import VerifyRun
from rockway.verify.runner import CheckRunner, exit_code
from rockway.verify.settings import VerifySettings, load_verify_settings
from rockway.verify.spec import parse_text

__all__ = ["CheckRunner", "CheckFile", "CheckResult", "CheckSpec", "TableSpec", "VerifyRun", "VerifySettings",
           "exit_code", "load_verify_settings", "parse_text"]
