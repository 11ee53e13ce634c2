"""Scorer throughput and tail: ours vs `mlflow models serve` vs `azmlinfsrv`.

Goal (BENCHMARKS.md): >= 10x mlflow's and >= 2.5x azmlinfsrv's req/s at a
lower p99, wrk -t1 -c8, 1-row and 10-row requests, same MLflow model; and,
with micro-batching, more rows/s than one predict call per request allows
(the serial compute floor, measured here as predict alone, in-process).
Every server binds 127.0.0.1 and gets the same OMP_NUM_THREADS.

    python benchmarks/scorer.py [--model gbm|reference|PATH] [--duration 10]

gbm: GradientBoosting on 20 features, saved as an MLflow sklearn model
(cloudpickle). reference: the reference pipeline's model (trained, epochs=5).
azmlinfsrv runs from its own venv (--azml-venv, created with pip if missing)
that sees this venv's packages for the model; without it its line says so.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SCORE_PY = """
import json, os
import mlflow.pyfunc, numpy as np, pandas as pd

def init():
    global model
    model = mlflow.pyfunc.load_model(os.environ["BENCH_MODEL"])

def run(raw_data):
    split = json.loads(raw_data)["dataframe_split"]
    out = model.predict(pd.DataFrame(split["data"], columns=split["columns"]))
    if isinstance(out, pd.DataFrame):
        return {"predictions": out.to_dict(orient="records")}
    return {"predictions": np.asarray(out).tolist()}
"""
AZML_HOST = (
    "import sys, azureml_inference_server_http.amlserver as s; "
    "s.DEFAULT_HOST = '127.0.0.1'; sys.argv[0] = 'azmlinfsrv'; s.run()"
)


def gbm_model(folder: Path) -> tuple[Path, list[dict]]:
    import mlflow.sklearn
    import pandas as pd
    from mlflow.models import infer_signature
    from sklearn.datasets import make_classification
    from sklearn.ensemble import GradientBoostingClassifier

    X, y = make_classification(n_samples=4000, n_features=20, random_state=0)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(20)])
    model = GradientBoostingClassifier(random_state=0).fit(frame, y)
    path = folder / "gbm"
    mlflow.sklearn.save_model(
        model,
        str(path),
        serialization_format="cloudpickle",
        signature=infer_signature(frame, model.predict(frame)),
        pip_requirements=["scikit-learn", "pandas"],
    )
    return path, frame.head(10).to_dict(orient="records")


def reference_model(folder: Path) -> tuple[Path, list[dict]]:
    proc = subprocess.run(
        [sys.executable, "-m", "mlops_actions", "pipeline", "run",
         str(ROOT / "pipelines" / "pipeline.yml"), "--set", "epochs=5"],
        cwd=folder, capture_output=True, text=True, check=True,
    )  # fmt: skip
    line = next(x for x in proc.stdout.splitlines() if x.strip().startswith("model "))
    path = folder / line.split()[1]
    example = json.loads((path / "input_example.json").read_text())
    rows = [dict(zip(example["columns"], row)) for row in example["data"]]
    return path, (rows * 10)[:10]


def body(rows: list[dict]) -> bytes:
    columns = list(rows[0])
    data = [[row[c] for c in columns] for row in rows]
    return json.dumps({"dataframe_split": {"columns": columns, "data": data}}).encode()


def serial_floor(model: Path, bodies: dict[int, bytes]) -> dict[int, float]:
    """Seconds per predict call, in-process: a one-predict-per-request bound."""
    import mlflow.pyfunc
    import pandas as pd

    loaded = mlflow.pyfunc.load_model(str(model))
    seconds = {}
    for rows, raw in bodies.items():
        split = json.loads(raw)["dataframe_split"]
        frame = pd.DataFrame(split["data"], columns=split["columns"])
        for _ in range(20):
            loaded.predict(frame)
        began, calls = time.perf_counter(), 0
        while time.perf_counter() - began < 1.0:
            loaded.predict(frame)
            calls += 1
        seconds[rows] = (time.perf_counter() - began) / calls
    return seconds


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def azml_python(venv: Path) -> Path | None:
    """The venv's python with azmlinfsrv, made if missing; None if impossible."""
    python = venv / "bin" / "python"
    if not (venv / "bin" / "azmlinfsrv").exists():
        try:
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            subprocess.run(
                [str(python), "-m", "pip", "install", "-q",
                 "azureml-inference-server-http"],
                check=True, timeout=300,
            )  # fmt: skip
        except (subprocess.SubprocessError, OSError):
            return None
    site = next((venv / "lib").glob("python*/site-packages"))
    # The model's libraries (mlflow, sklearn, torch) come from this venv, as
    # links in a folder after azmlinfsrv's own packages on sys.path; never the
    # packages azmlinfsrv has itself (namespace folders merge), nor `azure`,
    # where a regular package here would shadow azmlinfsrv's namespace one.
    ours = next((BIN.parent / "lib").glob("python*/site-packages"))
    farm = venv / "model-libs"
    shutil.rmtree(farm, ignore_errors=True)
    farm.mkdir()
    for entry in ours.iterdir():
        theirs = site / entry.name
        namespace = entry.is_dir() and not (entry / "__init__.py").exists()
        if entry.name.startswith(("azure", "__")) or (
            theirs.exists() and not namespace
        ):
            continue
        (farm / entry.name).symlink_to(entry)
    (site / "mlops_bench_model_libs.pth").write_text(f"{farm}\n")
    return python


def contenders(model: Path, work: Path, azml: Path | None) -> dict[str, tuple]:
    """name -> (argv, ready path, scoring path), each on its own free port."""
    port = {name: free_port() for name in ("ours", "mlflow", "azmlinfsrv")}
    table = {
        "ours": ([sys.executable, "-m", "mlops_actions", "scorer", "serve",
                  str(model), "--port", str(port["ours"])],
                 port["ours"], "/health/ready", "/invocations"),
        "mlflow": ([str(BIN / "mlflow"), "models", "serve", "-m", str(model),
                    "--env-manager", "local", "-h", "127.0.0.1",
                    "-p", str(port["mlflow"]), "-w", "1"],
                   port["mlflow"], "/ping", "/invocations"),
    }  # fmt: skip
    if azml is not None:
        (work / "score.py").write_text(SCORE_PY)
        table["azmlinfsrv"] = (
            [str(azml), "-c", AZML_HOST, "--entry_script", str(work / "score.py"),
             "--port", str(port["azmlinfsrv"])],
            port["azmlinfsrv"], "/", "/score",
        )  # fmt: skip
    return table


def wait_ready(process: subprocess.Popen, url: str, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("not ready in time")


def wrk(url: str, raw: bytes, seconds: float, work: Path) -> dict[str, float]:
    script = work / "post.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = [==[{raw.decode()}]==]\n"
    )
    out = subprocess.run(
        ["wrk", "-t1", "-c8", f"-d{seconds:g}s", "--latency", "-s", str(script), url],
        capture_output=True, text=True, check=True, timeout=seconds + 60,
    ).stdout  # fmt: skip
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]),
        "p50": _ms(re.search(r"\s50%\s+(\S+)", out)[1]),
        "p99": _ms(re.search(r"\s99%\s+(\S+)", out)[1]),
        "errors": int(errors[1]) if errors else 0,
        "socket": sockets[1] if sockets else "",
    }


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def measure(name, spec, bodies, seconds, work, env) -> dict[int, dict] | str:
    argv, port, ready, path = spec
    process = subprocess.Popen(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_ready(process, f"http://127.0.0.1:{port}{ready}")
        url = f"http://127.0.0.1:{port}{path}"
        for raw in bodies.values():  # each must answer before it is timed
            request = urllib.request.Request(
                url, raw, {"Content-Type": "application/json"}
            )
            urllib.request.urlopen(request, timeout=30).read()
        return {rows: wrk(url, raw, seconds, work) for rows, raw in bodies.items()}
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        return f"{name} unavailable: {exc}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gbm", help="gbm, reference or a folder")
    parser.add_argument("--duration", type=float, default=10.0, help="wrk seconds")
    parser.add_argument("--threads", default="1", help="OMP_NUM_THREADS for all")
    parser.add_argument("--azml-venv", type=Path, default=Path("/tmp/mlops-azml"))
    parser.add_argument(
        "--only", default="ours,mlflow,azmlinfsrv", help="comma list of contenders"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    only = args.only.split(",")
    with tempfile.TemporaryDirectory(prefix="mlops-bench-scorer-") as tmp:
        work = Path(tmp)
        makers = {"gbm": gbm_model, "reference": reference_model}
        if args.model in makers:
            model, rows = makers[args.model](work)
        else:
            model = Path(args.model)
            example = json.loads((model / "input_example.json").read_text())
            rows = [dict(zip(example["columns"], r)) for r in example["data"]] * 10
        bodies = {1: body(rows[:1]), 10: body(rows[:10])}
        env = {
            **os.environ,
            "OMP_NUM_THREADS": args.threads,
            "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
            "BENCH_MODEL": str(model),
        }
        os.environ["OMP_NUM_THREADS"] = args.threads
        floor = serial_floor(model, bodies)
        azml = azml_python(args.azml_venv) if "azmlinfsrv" in only else None
        table = contenders(model, work, azml)
        print(
            f"model {args.model}; wrk -t1 -c8 -d{args.duration:g}s; "
            f"OMP_NUM_THREADS={args.threads}; {os.cpu_count()} CPUs"
        )
        print(
            "serial compute floor (predict alone, one call per request): "
            + "; ".join(
                f"{n}-row {s * 1000:.2f} ms/call = {n / s:,.0f} rows/s"
                for n, s in floor.items()
            )
        )
        results = {}
        for name in only:
            if name not in table:
                print(f"{name:<11} unavailable: azureml-inference-server-http "
                      "could not be installed")  # fmt: skip
                continue
            results[name] = measure(name, table[name], bodies, args.duration, work, env)
        report(results, floor)


def report(results: dict, floor: dict[int, float]) -> None:
    print(
        f"{'contender':<11} {'rows':>4} {'req/s':>9} {'rows/s':>9} "
        f"{'p50 ms':>8} {'p99 ms':>8}  errors"
    )
    for rows in (1, 10):
        for name, result in results.items():
            if isinstance(result, str):
                if rows == 1:
                    print(result)
                continue
            r = result[rows]
            print(
                f"{name:<11} {rows:>4} {r['rps']:>9,.0f} {r['rps'] * rows:>9,.0f} "
                f"{r['p50']:>8.2f} {r['p99']:>8.2f}  {r['errors']} {r['socket']}"
            )
    ours = results.get("ours")
    if not isinstance(ours, dict):
        return
    for rows in (1, 10):
        over_floor = ours[rows]["rps"] * floor[rows]
        parts = [f"ours/floor {over_floor:.2f}x rows/s"]
        for peer, goal in (("mlflow", 10), ("azmlinfsrv", 2.5)):
            theirs = results.get(peer)
            if isinstance(theirs, dict):
                parts.append(
                    f"ours/{peer} {ours[rows]['rps'] / theirs[rows]['rps']:.1f}x req/s "
                    f"(goal {goal:g}x), p99 {ours[rows]['p99']:.1f} vs "
                    f"{theirs[rows]['p99']:.1f} ms"
                )
        print(f"ratio {rows:>2}-row: " + "; ".join(parts))


if __name__ == "__main__":
    main()
