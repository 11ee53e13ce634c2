"""The register use case refuses flags that do not go together before it
opens the registry, and writes no model.json then."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_actions.errors import UsageError
from mlops_actions.registry.register import register_model


def _unreachable():
    raise AssertionError("the registry was opened")


@pytest.mark.parametrize(
    "flags, message",
    [
        (
            {"run": "latest", "model_dir": "m"},
            "pass either --run RUN_ID|latest or --model-dir DIR",
        ),
        (
            {"run": "latest", "evaluation_dir": "e"},
            "--evaluation-dir goes with --model-dir, not --run",
        ),
        ({"evaluation_dir": "e"}, "--evaluation-dir goes with --model-dir, not --run"),
        ({"model_dir": "m", "gate": "gone.json"}, "--gate gone.json: not found"),
    ],
)
def test_usage_errors_come_before_the_registry(tmp_path, monkeypatch, flags, message):
    monkeypatch.chdir(tmp_path)
    args = {"run": None, "model_dir": None, "evaluation_dir": None, "gate": None}
    args.update({k: v if k == "run" else Path(v) for k, v in flags.items()})
    with pytest.raises(UsageError) as caught:
        register_model(
            _unreachable,
            "churn",
            commit=None,
            tags={},
            out=tmp_path / "model.json",
            **args,
        )
    assert caught.value.message.startswith(message)
    assert not (tmp_path / "model.json").exists()
