"""The gate's modules load no SDK and no numpy/pandas at import time."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_gate_loads_nothing_heavy():
    probe = (
        "import sys\n"
        "import mlops_actions.gate.report, mlops_actions.gate.decision\n"
        "import mlops_actions.gate.rules, mlops_actions.gate.bootstrap\n"
        "import mlops_actions.gate.pairing, mlops_actions.gate.verdicts\n"
        "heavy = ('numpy', 'pandas', 'mlflow', 'azure', 'torch', 'sklearn')\n"
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""
