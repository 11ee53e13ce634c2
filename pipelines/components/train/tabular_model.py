"""The tabular model: feature transform, PyTorch MLP, training loop, pyfunc.

One network for the three tasks, only the head differs: one logit and binary
cross-entropy (binary), one logit per class and cross-entropy (multiclass),
one output and mean squared error on the standardised target (regression).

This one file travels inside the saved MLflow model (``code_paths``), so the
scorer applies exactly the transform that training used. Benchmarks import
``fit`` from it by path; nothing here imports the rest of the project.

Serving needs no torch: the saved model carries its weights as numpy arrays
too (``weights.npz``) and the pyfunc runs the network in numpy, so the scorer
image leaves out torch's 750 MB. torch is imported on first use, by training.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import math
import time
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import pandas as pd


class _OnFirstUse:
    """A module imported when first touched, then bound in this module's
    globals in its place: unpickling the pyfunc at serve time imports this
    file, and must not import torch (seconds, and absent from the image)."""

    def __init__(self, name: str, alias: str) -> None:
        self._name, self._alias = name, alias

    def __getattr__(self, attr: str) -> Any:
        module = importlib.import_module(self._name)
        globals()[self._alias] = module
        return getattr(module, attr)


if TYPE_CHECKING:
    import torch
    from torch import nn
else:
    torch = _OnFirstUse("torch", "torch")
    nn = _OnFirstUse("torch.nn", "nn")

try:
    from mlflow.pyfunc import PythonModel
except ImportError:  # fit() and transform() stay usable without mlflow
    PythonModel = object  # type: ignore[assignment,misc]

EVAL_CHUNK_ROWS = 65_536
TASKS = ("binary", "multiclass", "regression")


def feature_names(spec: dict) -> list[str]:
    return [c["name"] for c in spec["numeric"]] + [
        c["name"] for c in spec["categorical"]
    ]


def transform(frame: pd.DataFrame, spec: dict) -> np.ndarray:
    """Raw feature rows -> float32 matrix, using only statistics from train.

    Numeric: missing -> train median, then standardised (a zero std counts as
    1). Categorical: one-hot over the train categories; a missing or unseen
    value is all zeros. An absent column is treated as entirely missing,
    because the model signature marks every feature optional.
    """
    n = len(frame)
    width = len(spec["numeric"]) + sum(
        len(c["categories"]) for c in spec["categorical"]
    )
    out = np.zeros((n, width), dtype=np.float32)
    for j, column in enumerate(spec["numeric"]):
        if column["name"] in frame.columns:
            raw = pd.to_numeric(frame[column["name"]], errors="coerce")
            values = raw.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            values = np.full(n, np.nan)
        values = np.where(np.isnan(values), column["median"], values)
        std = column["std"] or 1.0
        with np.errstate(over="ignore"):  # inf past float32: predict refuses it
            out[:, j] = (values - column["mean"]) / std
    offset = len(spec["numeric"])
    rows = np.arange(n)
    for column in spec["categorical"]:
        categories = column["categories"]
        if column["name"] in frame.columns and categories:
            codes = _category_codes(frame[column["name"]], categories)
            hit = codes >= 0
            out[rows[hit], offset + codes[hit]] = 1.0
        offset += len(categories)
    return out


def _category_codes(column: pd.Series, categories: list[str]) -> np.ndarray:
    present = column.notna().to_numpy()
    codes = np.full(len(column), -1, dtype=np.int64)
    if present.any():
        # Compare as text, as preprocess fitted them, whatever dtype arrives.
        keys = column[present].astype(str).to_numpy(dtype=object)
        codes[present] = pd.Index(categories, dtype=object).get_indexer(keys)
    return codes


def build_mlp(
    n_inputs: int, hidden_sizes: list[int], n_outputs: int = 1
) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = n_inputs
    for size in hidden_sizes:
        layers += [nn.Linear(width, size), nn.ReLU()]
        width = size
    layers.append(nn.Linear(width, n_outputs))
    return nn.Sequential(*layers)


def task_of(spec: dict) -> str:
    # A preprocessor.json written before tasks existed is binary.
    return str(spec.get("task", "binary"))


def _loss(task: str, reduction: str = "mean") -> nn.Module:
    if task == "multiclass":
        return nn.CrossEntropyLoss(reduction=reduction)
    if task == "regression":
        return nn.MSELoss(reduction=reduction)
    return nn.BCEWithLogitsLoss(reduction=reduction)


def _outputs(module: nn.Module, X: torch.Tensor, task: str) -> torch.Tensor:
    out = module(X)
    # Multiclass keeps one column per class; the others have one output.
    return out if task == "multiclass" else out.squeeze(-1)


def _hits(out: torch.Tensor, y: torch.Tensor, task: str) -> torch.Tensor:
    if task == "multiclass":
        return (out.argmax(dim=-1) == y).sum()
    return ((out > 0).float() == y).sum()


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _autocast(device: torch.device) -> contextlib.AbstractContextManager:
    # bf16 autocast only on CUDA; on CPU the same code runs in float32.
    if device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _evaluate(
    module: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    device: torch.device,
    task: str = "binary",
) -> tuple[float, float]:
    """Mean loss and the share of rows right (0 for regression)."""
    module.eval()
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device)
    loss_fn = _loss(task, reduction="sum")
    with torch.no_grad(), _autocast(device):
        for start in range(0, len(X), EVAL_CHUNK_ROWS):
            out = _outputs(module, X[start : start + EVAL_CHUNK_ROWS], task).float()
            target = y[start : start + EVAL_CHUNK_ROWS]
            loss_sum += loss_fn(out, target)
            if task != "regression":
                correct += _hits(out, target, task)
    return loss_sum.item() / len(X), correct.item() / len(X)


def fit(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_valid: np.ndarray,
    y_valid: np.ndarray,
    *,
    hidden_sizes: list[int],
    epochs: int,
    batch_size: int,
    learning_rate: float,
    weight_decay: float,
    seed: int,
    device: str = "auto",
    on_epoch: Callable[[dict[str, float]], None] | None = None,
    task: str = "binary",
    n_classes: int | None = None,
    target_std: float = 1.0,
) -> tuple[nn.Module, list[dict[str, float]], dict[str, Any]]:
    """Train the MLP; return (module on CPU with the best weights, history, stats).

    ``y`` holds 0/1 (binary), class indices (multiclass, ``n_classes`` of
    them, else one more than the largest index) or the standardised target
    (regression: ``target_std`` turns the validation RMSE back into the
    target's units for the history). Each epoch records ``valid_accuracy``
    (classification) or ``valid_rmse`` (regression).

    All tensors live on the device and batches are drawn with ``randperm``:
    no DataLoader, no host-device copies inside the loop, one sync per epoch.
    The weights kept are those of the epoch with the lowest validation loss.
    On CPU, a fixed seed gives the same weights run after run.
    """
    dev = resolve_device(device)
    torch.manual_seed(seed)
    generator = torch.Generator(device=dev)
    generator.manual_seed(seed)
    if task not in TASKS:
        raise ValueError(f"task {task!r} is not one of {', '.join(TASKS)}")
    y_type = torch.int64 if task == "multiclass" else torch.float32
    Xt = torch.as_tensor(X_train, dtype=torch.float32, device=dev)
    yt = torch.as_tensor(y_train, dtype=y_type, device=dev)
    Xv = torch.as_tensor(X_valid, dtype=torch.float32, device=dev)
    yv = torch.as_tensor(y_valid, dtype=y_type, device=dev)

    n_outputs = 1
    if task == "multiclass":
        n_outputs = n_classes or int(max(y_train.max(), y_valid.max())) + 1
    module = build_mlp(Xt.shape[1], hidden_sizes, n_outputs).to(dev)
    optimizer = torch.optim.AdamW(
        module.parameters(), lr=learning_rate, weight_decay=weight_decay
    )
    loss_fn = _loss(task)
    n = len(Xt)
    history: list[dict[str, float]] = []
    best_loss, best_epoch, best_state = math.inf, 0, None

    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        module.train()
        order = torch.randperm(n, device=dev, generator=generator)
        loss_sum = torch.zeros((), device=dev)
        for start in range(0, n, batch_size):
            index = order[start : start + batch_size]
            with _autocast(dev):
                out = _outputs(module, Xt[index], task)
            loss = loss_fn(out.float(), yt[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * len(index)
        valid_loss, valid_accuracy = _evaluate(module, Xv, yv, dev, task)
        record = {
            "epoch": epoch,
            "train_loss": loss_sum.item() / n,
            "valid_loss": valid_loss,
        }
        if task == "regression":
            record["valid_rmse"] = math.sqrt(valid_loss) * target_std
        else:
            record["valid_accuracy"] = valid_accuracy
        history.append(record)
        if valid_loss < best_loss:
            best_loss, best_epoch = valid_loss, epoch
            best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
        if on_epoch is not None:
            on_epoch(record)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    seconds = time.perf_counter() - started

    if best_state is not None:
        module.load_state_dict(best_state)
    stats = {
        "seconds": seconds,
        "samples_per_second": epochs * n / seconds if seconds > 0 else math.inf,
        "device": str(dev),
        "best_epoch": best_epoch,
        "best_valid_loss": best_loss,
        "parameters": sum(p.numel() for p in module.parameters()),
    }
    return module.cpu(), history, stats


def save_weights(module: nn.Module, hidden_sizes: list[int], path: str) -> None:
    n_inputs = next(module.parameters()).shape[1]
    n_outputs = list(module.parameters())[-1].shape[0]
    # Plain tensors and ints only, so load_context can use weights_only=True.
    payload = {
        "format": 1,
        "n_inputs": int(n_inputs),
        "n_outputs": int(n_outputs),
        "hidden_sizes": [int(size) for size in hidden_sizes],
        "state_dict": module.state_dict(),
    }
    torch.save(payload, path)


def export_weights(module: nn.Module, path: str) -> None:
    """The network's linear layers as numpy float32 arrays (``weight_<i>``,
    ``bias_<i>``, input to output), which the pyfunc serves from without
    torch; ReLU sits between every two of them, as in ``build_mlp``."""
    arrays = {}
    for i, layer in enumerate(_linear_layers(module)):
        arrays[f"weight_{i}"] = layer.weight.detach().cpu().numpy().astype(np.float32)
        arrays[f"bias_{i}"] = layer.bias.detach().cpu().numpy().astype(np.float32)
    np.savez(path, **arrays)


def numpy_layers(module: nn.Module) -> list[tuple[np.ndarray, np.ndarray]]:
    """(weight transposed, bias) per linear layer of ``module``, in float32."""
    return [
        _layer(layer.weight.detach().cpu().numpy(), layer.bias.detach().cpu().numpy())
        for layer in _linear_layers(module)
    ]


def load_numpy_layers(path: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """The layers ``export_weights`` wrote."""
    with np.load(path, allow_pickle=False) as saved:
        count = sum(1 for key in saved.files if key.startswith("weight_"))
        return [_layer(saved[f"weight_{i}"], saved[f"bias_{i}"]) for i in range(count)]


def load_torch_layers(path: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """The layers of a ``weights.pt`` (models saved before ``weights.npz``
    existed: they need torch to load, not to predict)."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    module = build_mlp(
        payload["n_inputs"], payload["hidden_sizes"], payload.get("n_outputs", 1)
    )
    module.load_state_dict(payload["state_dict"])
    return numpy_layers(module)


def _linear_layers(module: nn.Module) -> list[Any]:
    return [layer for layer in module if isinstance(layer, nn.Linear)]


def _layer(weight: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Transposed once here, so each prediction is one contiguous matmul.
    return (
        np.ascontiguousarray(weight.T, dtype=np.float32),
        np.asarray(bias, dtype=np.float32),
    )


def run_network(
    layers: list[tuple[np.ndarray, np.ndarray]], features: np.ndarray, task: str
) -> np.ndarray:
    """``build_mlp``'s forward pass and the task's head in numpy float32:
    the sigmoid's probability (binary), the softmax's (multiclass, one column
    per class) or the raw output (regression). Overflow gives inf or NaN, as
    in torch, for the caller to refuse."""
    out = features.astype(np.float32, copy=False)
    with np.errstate(over="ignore", invalid="ignore"):
        for weight, bias in layers[:-1]:
            out = np.maximum(out @ weight + bias, np.float32(0))
        weight, bias = layers[-1]
        out = out @ weight + bias
        if task == "multiclass":
            out = np.exp(out - out.max(axis=-1, keepdims=True))
            return out / out.sum(axis=-1, keepdims=True)
        out = out[:, 0]
        if task == "binary":
            # exp of a negative number only: no overflow for large logits
            small = np.exp(-np.abs(out))
            return np.where(out >= 0, 1 / (1 + small), small / (1 + small))
        return out


def _refuse_rows(
    bad: np.ndarray, frame: pd.DataFrame, features: np.ndarray, spec: dict
) -> None:
    """Raise MLflow's INVALID_PARAMETER_VALUE (a client error: the scorer
    answers 422) naming the first ``bad`` row and its most extreme column.

    The model computes in float32 on standardised features: a finite input
    such as 1e308 turns inf there, or NaN further in, and a label made from
    NaN would be a wrong answer given as a right one.
    """
    if not bad.any():
        return
    row = int(np.flatnonzero(bad)[0])
    numeric = spec["numeric"]
    if not numeric:  # one-hot features are 0 or 1: this cannot happen
        raise RuntimeError(f"row {row}: the model computed NaN")
    scale = np.nan_to_num(np.abs(features[row, : len(numeric)]), nan=np.inf)
    name = numeric[int(np.argmax(scale))]["name"]
    value = math.nan
    if name in frame.columns:
        value = float(pd.to_numeric(frame[name], errors="coerce").iloc[row])
    message = (
        f"column '{name}': row {row} is {value:g}, too far from the training "
        "data for the model to compute with (it standardises features in "
        "float32): send a value within the feature's real range"
    )
    try:
        from mlflow.exceptions import MlflowException
        from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
    except ImportError:  # predict() called without mlflow
        raise ValueError(message) from None
    raise MlflowException(message, error_code=INVALID_PARAMETER_VALUE)


class TabularClassifier(PythonModel):
    """MLflow pyfunc: raw feature rows in; out, by the spec's task:
    ``label`` and ``probability`` (of the positive class) for binary,
    ``label`` and one ``probability_<class>`` per class for multiclass,
    ``prediction`` (in the target's units) for regression. The name stays
    from when it only classified: saved models refer to it.

    A row the model cannot compute with (a feature overflowing float32 once
    standardised) is refused with MLflow's INVALID_PARAMETER_VALUE naming the
    column, rather than answered from NaN.
    """

    def load_context(self, context: Any) -> None:
        with open(context.artifacts["preprocessor"]) as handle:
            self.spec = json.load(handle)
        if "weights_numpy" in context.artifacts:
            self.layers = load_numpy_layers(context.artifacts["weights_numpy"])
        else:
            self.layers = load_torch_layers(context.artifacts["weights"])

    def predict(
        self,
        context: Any,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        frame = (
            model_input
            if isinstance(model_input, pd.DataFrame)
            else pd.DataFrame(model_input)
        )
        features = transform(frame, self.spec)
        _refuse_rows(~np.isfinite(features).all(axis=1), frame, features, self.spec)
        task = task_of(self.spec)
        probability = run_network(self.layers, features, task).astype(np.float64)
        # Finite inputs far enough out still overflow inside the network.
        bad = np.isnan(probability)
        _refuse_rows(
            bad.any(axis=-1) if bad.ndim > 1 else bad, frame, features, self.spec
        )
        if task == "multiclass":
            return _class_frame(probability, self.spec["classes"], frame.index)
        if task == "regression":
            scale = self.spec["target_scale"]
            return pd.DataFrame(
                {"prediction": probability * scale["std"] + scale["mean"]},
                index=frame.index,
            )
        negative, positive = self.spec["classes"]
        return pd.DataFrame(
            {
                "label": np.where(probability >= 0.5, positive, negative),
                "probability": probability.astype(np.float64),
            },
            index=frame.index,
        )


def _class_frame(
    probability: np.ndarray, classes: list[str], index: pd.Index
) -> pd.DataFrame:
    columns: dict[str, Any] = {
        "label": np.asarray(classes, dtype=object)[probability.argmax(axis=-1)]
    }
    for j, name in enumerate(classes):
        columns[f"probability_{name}"] = probability[:, j]
    return pd.DataFrame(columns, index=index)
