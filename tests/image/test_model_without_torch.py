"""The reference model serves without torch: the train component saves its
weights as numpy too, the pyfunc runs the network in numpy, and its answers
equal the torch network's, for each task and with features missing.

The image leaves torch out (750 MB of a 1.4 GB image), so these are the
checks that the model in it still answers as the one trained.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

TRAIN = Path(__file__).resolve().parents[2] / "pipelines" / "components" / "train"
NUMERIC = [
    {"name": "a", "median": 0.5, "mean": 0.2, "std": 2.0},
    {"name": "b", "median": -1.0, "mean": -1.5, "std": 0.5},
    {"name": "d", "median": 3.0, "mean": 3.0, "std": 0.0},
]
CATEGORICAL = [{"name": "c", "categories": ["p", "q", "r"]}]
SPECS = {
    "binary": {"task": "binary", "target": "y", "classes": ["no", "yes"]},
    "multiclass": {
        "task": "multiclass",
        "target": "y",
        "classes": ["adelie", "chinstrap", "gentoo"],
    },
    "regression": {
        "task": "regression",
        "target": "y",
        "target_scale": {"mean": 4200.0, "std": 800.0},
    },
}


def _components() -> tuple[Any, Any]:
    if str(TRAIN) not in sys.path:
        sys.path.insert(0, str(TRAIN))  # train.py imports tabular_model by name
    return importlib.import_module("tabular_model"), importlib.import_module("train")


def _spec(task: str) -> dict:
    return {**SPECS[task], "numeric": NUMERIC, "categorical": CATEGORICAL}


def _rows(n: int = 400) -> pd.DataFrame:
    """Rows with every kind of gap: NaN, None, an unseen category."""
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "a": rng.normal(0, 3, n),
            "b": rng.normal(-1, 1, n),
            "d": rng.normal(3, 1, n),
            "c": rng.choice(np.array(["p", "q", "r", "s"], dtype=object), n),
        }
    )
    frame.loc[::5, "a"] = np.nan
    frame.loc[1::7, "b"] = np.nan
    frame.loc[2::3, "c"] = None
    frame.loc[3, ["a", "b", "d", "c"]] = [np.nan, np.nan, np.nan, None]
    return frame


def _network(task: str) -> torch.nn.Module:
    tabular_model, _ = _components()
    torch.manual_seed({"binary": 1, "multiclass": 2, "regression": 3}[task])
    outputs = 3 if task == "multiclass" else 1
    return tabular_model.build_mlp(6, [16, 8], outputs).eval()


def _torch_answers(module: torch.nn.Module, spec: dict, rows: pd.DataFrame) -> Any:
    """What the pyfunc answered when it ran the network in torch."""
    tabular_model, _ = _components()
    features = torch.from_numpy(tabular_model.transform(rows, spec))
    with torch.no_grad():
        out = module(features)
    if spec["task"] == "multiclass":
        return torch.softmax(out, dim=-1).numpy().astype(np.float64)
    out = out.squeeze(-1)
    if spec["task"] == "binary":
        return torch.sigmoid(out).numpy().astype(np.float64)
    scale = spec["target_scale"]
    return out.numpy().astype(np.float64) * scale["std"] + scale["mean"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> dict[str, tuple[Path, torch.nn.Module]]:
    """task -> (model folder saved by the train component, its network)."""
    _, train = _components()
    found = {}
    for task in SPECS:
        folder = tmp_path_factory.mktemp(task) / "model"
        module = _network(task)
        spec = _spec(task)
        train.save_model(module, spec, [16, 8], _rows(50), folder, {"task": task})
        found[task] = (folder, module)
    return found


def _predict(folder: Path, rows: pd.DataFrame) -> pd.DataFrame:
    import mlflow.pyfunc

    return mlflow.pyfunc.load_model(str(folder)).predict(rows)


@pytest.mark.parametrize("task", SPECS)
def test_numpy_predictions_equal_the_torch_networks(task, saved):
    folder, module = saved[task]
    spec = _spec(task)
    rows = _rows()
    answer = _predict(folder, rows)
    expected = _torch_answers(module, spec, rows)
    if task == "regression":
        assert list(answer.columns) == ["prediction"]
        np.testing.assert_allclose(answer["prediction"], expected, rtol=1e-6)
        return
    if task == "binary":
        assert list(answer.columns) == ["label", "probability"]
        np.testing.assert_allclose(
            answer["probability"], expected, rtol=1e-6, atol=1e-7
        )
        labels = np.where(expected >= 0.5, "yes", "no")
    else:
        columns = [f"probability_{name}" for name in spec["classes"]]
        assert list(answer.columns) == ["label", *columns]
        np.testing.assert_allclose(answer[columns], expected, rtol=1e-6, atol=1e-7)
        labels = np.asarray(spec["classes"], dtype=object)[expected.argmax(axis=1)]
    assert answer["label"].tolist() == labels.tolist()


def test_saved_model_needs_no_torch_to_install(saved):
    folder, _ = saved["binary"]
    names = [
        line.split("==")[0]
        for line in (folder / "requirements.txt").read_text().splitlines()
    ]
    assert "torch" not in names
    assert {"numpy", "pandas"} <= set(names)
    artifacts = json.dumps(sorted(p.name for p in (folder / "artifacts").iterdir()))
    assert artifacts == json.dumps(["preprocessor.json", "weights.npz", "weights.pt"])


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_model_loads_and_predicts_where_torch_cannot_be_imported(task, saved, tmp_path):
    folder, module = saved[task]
    rows = _rows(20)
    rows.to_json(tmp_path / "rows.json", orient="split")
    # torch set to None in sys.modules: any `import torch` raises ImportError
    script = (
        "import sys; sys.modules['torch'] = None\n"
        "import pandas as pd, mlflow.pyfunc\n"
        f"rows = pd.read_json({str(tmp_path / 'rows.json')!r}, orient='split')\n"
        f"model = mlflow.pyfunc.load_model({str(folder)!r})\n"
        f"model.predict(rows).to_json({str(tmp_path / 'out.json')!r}, "
        "orient='split', double_precision=15)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answer = pd.read_json(tmp_path / "out.json", orient="split")
    column = "probability" if task == "binary" else "probability_gentoo"
    expected = _torch_answers(module, _spec(task), rows)
    expected = expected if task == "binary" else expected[:, 2]
    np.testing.assert_allclose(answer[column], expected, rtol=1e-6, atol=1e-7)


def test_loading_the_model_leaves_torch_unimported(saved):
    folder, _ = saved["regression"]
    script = (
        "import sys, mlflow.pyfunc, pandas as pd\n"
        f"model = mlflow.pyfunc.load_model({str(folder)!r})\n"
        "model.predict(pd.DataFrame({'a': [1.0]}))\n"
        "print('torch' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines()[-1] == "False"


def test_model_saved_with_torch_weights_only_still_loads(saved):
    """A model saved before weights.npz existed: weights.pt and torch."""
    tabular_model, _ = _components()
    folder, module = saved["multiclass"]
    artifacts = folder / "artifacts"
    old = tabular_model.TabularClassifier()
    old.load_context(
        SimpleNamespace(
            artifacts={
                "preprocessor": str(artifacts / "preprocessor.json"),
                "weights": str(artifacts / "weights.pt"),
            }
        )
    )
    rows = _rows(50)
    spec = _spec("multiclass")
    answer = old.predict(None, rows)
    columns = [f"probability_{name}" for name in spec["classes"]]
    expected = _torch_answers(module, spec, rows)
    np.testing.assert_allclose(answer[columns], expected, rtol=1e-6, atol=1e-7)
