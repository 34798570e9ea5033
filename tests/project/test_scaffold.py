"""The deployment files at this repository's root (docker-compose.yml, .env.example, deploy/starrocks/*.conf,
deploy/otel-collector/config.yaml) and macros/warehouse.sql are renderings of rockway/scaffold/templates: the
test below fails when either side changes alone, so a change goes into the template and the root file is
rendered from it.
"""

from __future__ import annotations

import pytest

from rockway.scaffold import Options, plan
from tests.support.paths import REPO_ROOT as ROOT
from tests.support.scaffold import SHARED_WITH_ROOT


@pytest.mark.parametrize("relative", SHARED_WITH_ROOT)
def test_root_files_are_the_scaffold_rendering_of_this_warehouse(relative):
    rendered = plan(Options(name="rockway", backends=1), reference_deployment=True)
    assert rendered[relative] == (ROOT / relative).read_bytes(), (
        f"{relative} differs from rockway/scaffold/templates' rendering: change the template and render the root "
        "file from it (rockway.scaffold.plan(Options(name='rockway'), reference_deployment=True))")
