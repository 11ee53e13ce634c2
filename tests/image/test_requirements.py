"""How requirements.txt pins the scorer's dependencies and the model's."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import metadata

import pytest

from mlops_actions.errors import MissingDependency, UsageError
from mlops_actions.image.requirements import canonical, lock


@dataclass
class Dist:
    name: str
    version: str
    requires: list[str] = field(default_factory=list)

    @property
    def metadata(self) -> dict[str, str]:
        return {"Name": self.name}


INSTALLED = {
    canonical(d.name): d
    for d in [
        Dist("fastapi", "0.120.0", ["starlette>=0.40", "pydantic>=2"]),
        Dist("starlette", "0.48.0", ["anyio>=3"]),
        Dist("anyio", "4.5.0"),
        Dist("pydantic", "2.9.0"),
        Dist(
            "uvicorn",
            "0.30.0",
            [
                "click>=7",
                'uvloop>=0.15; extra == "standard" and sys_platform != "win32"',
                'colorama; sys_platform == "win32"',
            ],
        ),
        Dist("uvloop", "0.21.0"),
        Dist("click", "8.1.7"),
        Dist("mlflow-skinny", "3.6.0", ["cloudpickle<4", "packaging"]),
        Dist("cloudpickle", "3.1.0"),
        Dist("packaging", "24.1"),
        Dist("pandas", "2.2.3", ["numpy>=1.26"]),
        Dist("numpy", "2.1.0"),
        Dist("scikit-learn", "1.5.2", ["numpy>=1.19"]),
    ]
}
TOOLKIT = [
    "click>=8",
    'fastapi>=0.110; extra == "serve"',
    'uvicorn[standard]>=0.29; extra == "serve"',
    'mlflow-skinny>=3.5; extra == "serve"',
    'torch==2.0; extra == "train"',
]


def installed(name: str) -> Dist:
    try:
        return INSTALLED[canonical(name)]
    except KeyError:
        raise metadata.PackageNotFoundError(name) from None


def pins(model_lines: str | None, tmp_path, toolkit=TOOLKIT):
    path = None
    if model_lines is not None:
        path = tmp_path / "model" / "requirements.txt"
        path.parent.mkdir(exist_ok=True)
        path.write_text(model_lines)
    return lock(toolkit, path, distribution=installed)


def test_scorer_closure_pinned_at_installed_versions(tmp_path):
    found = pins(None, tmp_path)
    assert found.lines() == [
        "anyio==4.5.0",
        "click==8.1.7",
        "cloudpickle==3.1.0",
        "fastapi==0.120.0",
        "mlflow-skinny==3.6.0",
        "packaging==24.1",
        "pydantic==2.9.0",
        "starlette==0.48.0",
        "uvicorn==0.30.0",
        # uvicorn[standard] on Linux: uvloop in, colorama (Windows) out;
        # the train extra's torch is not the scorer's
        "uvloop==0.21.0",
    ]
    assert found.notes == []


def test_model_lines_pinned_and_mlflow_becomes_skinny(tmp_path):
    found = pins(
        "# written by MLflow\n"
        "mlflow==3.4.0\n"
        "pandas\n"
        "scikit-learn>=1.5  # trailing comment\n"
        'pywin32==306; sys_platform == "win32"\n',
        tmp_path,
    )
    lines = found.lines()
    assert "mlflow-skinny==3.6.0" in lines
    assert not any(line.startswith("mlflow==") for line in lines)
    assert {"pandas==2.2.3", "numpy==2.1.0", "scikit-learn==1.5.2"} <= set(lines)
    assert not any(line.startswith("pywin32") for line in lines)
    assert found.notes == [
        "model/requirements.txt line 2: mlflow==3.4.0 replaced by the scorer's "
        "mlflow-skinny==3.6.0 (loading a pyfunc model needs mlflow-skinny only)"
    ]


def test_model_exact_pin_kept_even_when_another_version_is_installed(tmp_path):
    found = pins("pandas==2.1.4\ncloudpickle==3.0.0\n", tmp_path)
    assert "pandas==2.1.4" in found.lines()
    # the scorer's own pin of cloudpickle gives way to the model's
    assert "cloudpickle==3.0.0" in found.lines()
    assert found.pins["pandas"].via == "model"


def test_model_pin_outside_a_scorer_dependency_range_is_refused(tmp_path):
    with pytest.raises(UsageError) as caught:
        pins("cloudpickle==4.0.0\n", tmp_path)
    assert caught.value.message == (
        "model/requirements.txt line 1: cloudpickle==4.0.0 conflicts with the "
        "scorer's dependency mlflow-skinny 3.6.0 needing cloudpickle<4"
    )


def test_unpinned_model_requirement_not_installed_here_is_refused(tmp_path):
    with pytest.raises(UsageError) as caught:
        pins("xgboost>=2\n", tmp_path)
    assert caught.value.message == (
        "model/requirements.txt line 1: xgboost>=2 is not installed here, so its "
        "version cannot be pinned: install it, or pin it with == in the model's "
        "requirements.txt"
    )


def test_installed_version_outside_the_model_range_is_refused(tmp_path):
    with pytest.raises(UsageError, match=r"needs pandas<2, but pandas 2\.2\.3"):
        pins("pandas<2\n", tmp_path)


@pytest.mark.parametrize(
    "line, says",
    [
        ("-r other.txt", "pip options"),
        ("--extra-index-url https://example.com", "pip options"),
        ("pkg @ https://example.com/pkg.whl", "installs from a URL"),
        ("not a requirement!", "is not a requirement"),
    ],
)
def test_unsupported_model_lines(tmp_path, line, says):
    with pytest.raises(UsageError, match=says):
        pins(line + "\n", tmp_path)


def test_option_line_named_by_file_and_line(tmp_path):
    with pytest.raises(UsageError) as caught:
        pins("pandas\n-r more.txt\n", tmp_path)
    assert caught.value.message == (
        "model/requirements.txt line 2: '-r more.txt': pip options (-r, -c, "
        "--index-url, -e) are not supported in a model's requirements"
    )


def test_serve_extra_not_installed_names_the_extra(tmp_path):
    with pytest.raises(MissingDependency) as caught:
        pins(None, tmp_path, toolkit=['orjson>=3; extra == "serve"'])
    assert caught.value.exit_code == 4
    assert caught.value.message == (
        "`mlops image bundle` (it pins the versions installed here) needs "
        "orjson: pip install 'mlops-actions[serve]'"
    )
