"""The README's two commands are the ones CI and users run."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def commands() -> list[str]:
    return re.findall(r"```bash\n(.+?)\n```", (ROOT / "README.md").read_text())


def test_readme_starts_with_main_and_test_commands():
    main, tests = commands()[:2]
    assert main.endswith("mlops release")
    # on every core (pytest-xdist)
    assert tests.endswith("python -m pytest -n auto")


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert commands()[1] in ci


def test_gate_rules_example_and_repo_gate_yml_load(tmp_path):
    from mlops_actions.gate.rules import load_rules

    text = (ROOT / "README.md").read_text()
    section = text[text.index("### Gate rules") :]
    example = re.search(r"```yaml\n(.+?)```", section, re.S).group(1)
    (tmp_path / "gate.yml").write_text(example)
    assert load_rules(tmp_path / "gate.yml").primary == "accuracy"
    assert load_rules(ROOT / "gate.yml").model == "reference-tabular"
