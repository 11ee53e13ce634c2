"""The README's exit-code table is the one the code uses, row for row."""

from __future__ import annotations

import re
from pathlib import Path

from mlops_actions.errors import (
    EXIT_CODE_MEANINGS,
    BackendError,
    CheckFailed,
    ExitCode,
    MissingDependency,
    UsageError,
)

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_table() -> dict[int, str]:
    rows = re.findall(r"^\| (\d+) \| (.+?) \|$", README.read_text(), re.M)
    return {int(code): meaning for code, meaning in rows}


def test_readme_table_matches_errors():
    assert readme_table() == {int(k): v for k, v in EXIT_CODE_MEANINGS.items()}


def test_each_error_type_has_its_code():
    assert CheckFailed("x").exit_code == ExitCode.CHECK_FAILED == 1
    assert UsageError("x").exit_code == ExitCode.USAGE == 2
    assert BackendError("x").exit_code == ExitCode.BACKEND == 3
    missing = MissingDependency("azure-ai-ml", "azure", "validation")
    assert missing.exit_code == ExitCode.MISSING_DEPENDENCY == 4
    assert missing.message == (
        "validation needs azure-ai-ml: pip install 'mlops-actions[azure]'"
    )


def test_missing_extra_exits_4_naming_it(mlops, monkeypatch, tmp_path):
    import builtins

    real_import = builtins.__import__

    def no_azure(name, *args, **kwargs):
        if name.startswith("azure"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_azure)
    pipeline = Path(__file__).resolve().parents[1] / "fixtures" / "toy" / "pipeline.yml"
    result = mlops("pipeline", "validate", str(pipeline))
    assert result.code == 4
    assert result.err == (
        "error: validation against Azure ML's schema needs azure-ai-ml: "
        "pip install 'mlops-actions[azure]'\n"
    )


def test_internal_error_exits_70_without_traceback(mlops, monkeypatch, toy):
    from mlops_actions.pipeline import local

    def boom(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(local.LocalRunner, "run", boom)
    result = mlops("pipeline", "run", str(toy))
    assert result.code == 70
    assert result.err.splitlines()[-1] == (
        "internal error: ZeroDivisionError: division by zero "
        "(set MLOPS_DEBUG=1 for the traceback)"
    )
    assert "Traceback" not in result.err
    monkeypatch.setenv("MLOPS_DEBUG", "1")
    assert "Traceback" in mlops("pipeline", "run", str(toy)).err


def test_error_with_a_newline_stays_on_one_line(mlops, toy):
    result = mlops("pipeline", "run", str(toy), "--set", "a\n::set-output name=x::y=1")
    assert result.code == 2
    assert result.err.count("\n") == 1
    assert result.err.startswith("error: --set a\\n::set-output name: ")
