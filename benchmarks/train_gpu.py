"""Train component throughput against the textbook PyTorch loop, same model.

Contenders, on the same device, data and MLP (inputs -> 512 -> 512 -> 1):
- textbook: DataLoader over CPU tensors, fp32, batch 256, each batch copied to
  the device (the loop most tutorials teach);
- train component: ``tabular_model.fit`` as the pipeline's train step runs it,
  data resident on the device, ``randperm`` batches, bf16 autocast on CUDA,
  batch 8192.
Each contender trains for a bounded time (whole epochs of the component, a
bounded number of batches of the textbook loop) after a warm-up; samples/s and
the ratio are printed. Goal (BENCHMARKS.md): >= 30x on an H100/H200.

    python benchmarks/train_gpu.py                 # CUDA, 2M rows
    python benchmarks/train_gpu.py --device cpu --rows 50000 --seconds 3
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

ROOT = Path(__file__).resolve().parents[1]
HIDDEN = [512, 512]


def load_component():
    path = ROOT / "pipelines" / "components" / "train" / "tabular_model.py"
    spec = importlib.util.spec_from_file_location("tabular_model", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_data(rows: int, features: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, features), dtype=np.float32)
    w = rng.standard_normal(features).astype(np.float32)
    y = (X @ w + rng.standard_normal(rows).astype(np.float32) > 0).astype(np.float32)
    return X, y


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def textbook(
    tm, X: np.ndarray, y: np.ndarray, device: torch.device, seconds: float
) -> float:
    """samples/s of the DataLoader loop, fp32, batch 256, bounded in time."""
    torch.manual_seed(0)
    model = tm.build_mlp(X.shape[1], HIDDEN).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    loader = DataLoader(
        TensorDataset(torch.from_numpy(X), torch.from_numpy(y)),
        batch_size=256,
        shuffle=True,
    )
    samples, started, warm = 0, 0.0, 20
    for i, (xb, yb) in enumerate(loader):
        if i == warm:
            sync(device)
            started, samples = time.perf_counter(), 0
        xb, yb = xb.to(device), yb.to(device)
        loss = loss_fn(model(xb).squeeze(-1), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        samples += len(xb)
        if i > warm and i % 50 == 0:
            sync(device)
            if time.perf_counter() - started >= seconds:
                break
    sync(device)
    return samples / (time.perf_counter() - started)


def component(
    tm, X: np.ndarray, y: np.ndarray, device: torch.device, seconds: float
) -> tuple[float, int]:
    """samples/s of the train component's fit(), epochs sized to the time bound."""
    split = int(len(X) * 0.9)
    common = dict(
        hidden_sizes=HIDDEN,
        batch_size=8192,
        learning_rate=1e-3,
        weight_decay=1e-4,
        seed=0,
        device=str(device),
    )
    args = (X[:split], y[:split], X[split:], y[split:])
    _, _, warm = tm.fit(*args, epochs=1, **common)  # warm-up: kernels, allocator
    epochs = max(1, int(seconds / max(warm["seconds"], 1e-3)))
    _, _, stats = tm.fit(*args, epochs=epochs, **common)
    return stats["samples_per_second"], epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20.0, help="per contender")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA device: pass --device cpu for a smoke run")
    tm = load_component()
    X, y = make_data(args.rows, args.features, seed=7)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"device {name}; {args.rows} rows x {args.features} features; MLP {HIDDEN}")
    base = textbook(tm, X, y, device, args.seconds)
    ours, epochs = component(tm, X, y, device, args.seconds)
    print(f"textbook loop (DataLoader, fp32, batch 256)   {base:14,.0f} samples/s")
    print(
        f"train component (resident, bf16*, b. 8192)  {ours:14,.0f} samples/s"
        f"  ({epochs} epochs)"
    )
    print(
        f"ratio                                         {ours / base:14.1f}x"
        "  (goal >= 30x on a GPU)"
    )
    print("* bf16 autocast on CUDA only; on CPU both contenders run in float32")


if __name__ == "__main__":
    main()
