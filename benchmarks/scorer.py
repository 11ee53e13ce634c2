"""Scorer throughput and tail: ours against the serving field, same MLflow model.

Goals (BENCHMARKS.md): >= 1.2x the best peer's req/s at 1 connection, >= 3x
the best peer at 8 and 64 connections, the lowest p99 of the field at each;
wrk -t1, 1-row and 10-row requests, each server in its own request format.
The floor is the estimator's own predict on a float array, in-process (median
of many calls): what one predict call per request costs without any server.

    python benchmarks/scorer.py                      # whole field, ~9 minutes
    python benchmarks/scorer.py --peers mlserver,kserve --duration 2 --connections 8

Contenders, each with its recommended single-machine settings, all binding
127.0.0.1 (checked: a server with a listening socket elsewhere is stopped):

- ours: `mlops scorer serve` (one process, micro-batching), dataframe_split.
- mlflow: `mlflow models serve --env-manager local -w 1`, dataframe_split.
- azmlinfsrv: azureml-inference-server-http's defaults with an entry script
  calling the pyfunc, from its own venv that sees this venv's model libraries.
- mlserver: MLServer 1.7.1 + mlserver-sklearn, V2 protocol, parallel_workers=0
  (predict in the server process; the default, one worker process fed over a
  queue, is slower on 2 cores), gRPC and metrics on 127.0.0.1 as well.
- kserve: KServe 0.21 ModelServer, one worker, no gRPC, V2 protocol, predict in
  process by a tiny Model subclass (peers/kserve_server.py; it sets the host,
  which kserve fixes at 0.0.0.0 otherwise).
- litserve: LitServe 0.2 LitAPI (peers/litserve_server.py), one inference
  worker process fed over ZeroMQ (fast_queue), no batching, {"inputs": rows}.
- bentoml: BentoML 1.4 service (peers/bentoml_service.py), one worker, adaptive
  batching (64 rows, a 1 s latency bound as its docs show: 10 ms answered
  503 under load), {"inputs": rows}.

The peers serve the MLflow model's own pickled estimator (sklearn flavor), each
from a venv made here with pip (peers/<peer>.txt, plus this venv's versions of
scikit-learn, numpy, scipy, joblib and cloudpickle so the pickle loads alike),
kept under --venvs and reused while its requirements are unchanged. A peer
whose venv cannot be made prints one line saying why and is left out; the
verdicts name the peers they lack. Before timing, each server answers the
1-row and 10-row request and its predictions must equal the estimator's
(to 1e-9); a wrong answer marks that line and keeps it out of the verdicts.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, NamedTuple

ROOT = Path(__file__).resolve().parents[1]
PEER_DIR = Path(__file__).resolve().parent / "peers"
BIN = Path(sys.executable).parent
PEERS = ("mlflow", "azmlinfsrv", "mlserver", "kserve", "litserve", "bentoml")
VENV_PEERS = ("mlserver", "kserve", "litserve", "bentoml")
SHARED_PINS = ("scikit-learn", "numpy", "scipy", "joblib", "cloudpickle")
GOALS = {1: 1.2}  # connections -> req/s over the best peer; 3x elsewhere
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
AZML_VERSION = "1.5.1"
AZML_HOST = (
    "import sys, azureml_inference_server_http.amlserver as s; "
    "s.DEFAULT_HOST = '127.0.0.1'; sys.argv[0] = 'azmlinfsrv'; s.run()"
)


class Server(NamedTuple):
    """How to start one contender and talk to it."""

    argv: list[str]
    port: int
    ready: str
    path: str
    body: Callable[[list[str], list[list[Any]]], bytes]
    answer: Callable[[Any], Any]
    cwd: Path | None = None


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
    return path, example_rows(path)


def example_rows(model: Path) -> list[dict]:
    example = json.loads((model / "input_example.json").read_text())
    rows = [dict(zip(example["columns"], row)) for row in example["data"]]
    return (rows * 10)[:10]


def split_body(columns: list[str], data: list[list[Any]]) -> bytes:
    return json.dumps({"dataframe_split": {"columns": columns, "data": data}}).encode()


def v2_body(columns: list[str], data: list[list[Any]]) -> bytes:
    flat = [value for row in data for value in row]
    tensor = {"name": "input-0", "shape": [len(data), len(columns)]}
    tensor.update(datatype="FP64", data=flat)
    return json.dumps({"inputs": [tensor]}).encode()


def rows_body(columns: list[str], data: list[list[Any]]) -> bytes:
    return json.dumps({"inputs": data}).encode()


def predictions(answer: Any) -> Any:
    return answer["predictions"]


def v2_outputs(answer: Any) -> Any:
    return answer["outputs"][0]["data"]


def same_answer(expected: Any, got: Any) -> bool:
    """Predictions equal the estimator's: numbers to 1e-9, all else exactly."""
    if isinstance(expected, dict):
        return (
            isinstance(got, dict)
            and expected.keys() == got.keys()
            and all(same_answer(expected[key], got[key]) for key in expected)
        )
    if isinstance(expected, list):
        return (
            isinstance(got, list)
            and len(got) == len(expected)
            and all(map(same_answer, expected, got))
        )
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        number = isinstance(got, (int, float)) and not isinstance(got, bool)
        return number and abs(expected - got) <= 1e-9
    return bool(expected == got)


def estimator_of(model: Path) -> Path | None:
    """The sklearn flavor's pickled estimator in an MLflow model, if it has one."""
    import yaml

    flavors = yaml.safe_load((model / "MLmodel").read_text())["flavors"]
    sklearn = flavors.get("sklearn")
    return model / sklearn["pickled_model"] if sklearn else None


def estimator_floor(estimator: Path, X: Any) -> dict[int, float]:
    """Median seconds of the estimator's own predict on 1 and 10 float rows."""
    with open(estimator, "rb") as file:
        est = pickle.load(file)
    seconds = {}
    for rows in (1, 10):
        batch = X[:rows]
        for _ in range(50):
            est.predict(batch)
        calls = []
        began = time.perf_counter()
        while time.perf_counter() - began < 1.0:
            start = time.perf_counter()
            est.predict(batch)
            calls.append(time.perf_counter() - start)
        seconds[rows] = statistics.median(calls)
    return seconds


def pyfunc_floor(model: Path, columns: list[str], data: list) -> dict[int, float]:
    """Without an estimator (not sklearn), the pyfunc's predict is the floor."""
    import mlflow.pyfunc
    import pandas as pd

    loaded = mlflow.pyfunc.load_model(str(model))
    seconds = {}
    for rows in (1, 10):
        frame = pd.DataFrame(data[:rows], columns=columns)
        calls = []
        for _ in range(200):
            start = time.perf_counter()
            loaded.predict(frame)
            calls.append(time.perf_counter() - start)
        seconds[rows] = statistics.median(calls[20:])
    return seconds


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def peer_requirements(peer: str) -> list[str]:
    """The peer's pinned packages, then this venv's versions of the model's."""
    lines = (PEER_DIR / f"{peer}.txt").read_text().splitlines()
    pinned = [x.strip() for x in lines if x.strip() and not x.startswith("#")]
    return pinned + [f"{name}=={metadata.version(name)}" for name in SHARED_PINS]


def peer_venv(peer: str, cache: Path) -> Path | str:
    """The peer's venv python, made once per pinned version; else why not."""
    wanted = peer_requirements(peer)
    venv = cache / f"{peer}-{wanted[0].split('==')[1]}"
    marker = venv / "mlops-bench-requirements.txt"
    python = venv / "bin" / "python"
    if marker.exists() and marker.read_text().split() == wanted:
        return python
    print(f"making {venv} (pip install {' '.join(wanted)})", flush=True)
    shutil.rmtree(venv, ignore_errors=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)],
                       check=True, capture_output=True)  # fmt: skip
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *wanted],
            check=True, capture_output=True, text=True, timeout=1200,
        )  # fmt: skip
    except subprocess.CalledProcessError as exc:
        tail = (exc.stderr or "").strip().splitlines()[-1:] or [
            f"exit {exc.returncode}"
        ]
        return f"its venv could not be made: {tail[0]}"
    except (subprocess.SubprocessError, OSError) as exc:
        return f"its venv could not be made: {exc}"
    marker.write_text("\n".join(wanted) + "\n")
    return python


def azml_python(venv: Path) -> Path | str:
    """The venv's python with azmlinfsrv, made if missing; else why not."""
    python = venv / "bin" / "python"
    if not (venv / "bin" / "azmlinfsrv").exists():
        try:
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            subprocess.run(
                [str(python), "-m", "pip", "install", "-q",
                 f"azureml-inference-server-http=={AZML_VERSION}"],
                check=True, timeout=300,
            )  # fmt: skip
        except (subprocess.SubprocessError, OSError):
            return "azureml-inference-server-http could not be installed"
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


def mlserver_folder(work: Path, estimator: Path, port: int) -> Path:
    """MLServer's settings: every port on 127.0.0.1, predict in process."""
    folder = work / "mlserver"
    folder.mkdir(exist_ok=True)
    settings = {"host": "127.0.0.1", "http_port": port, "grpc_port": free_port()}
    settings.update(metrics_port=free_port(), parallel_workers=0)
    (folder / "settings.json").write_text(json.dumps(settings))
    model = {"name": "estimator", "implementation": "mlserver_sklearn.SKLearnModel"}
    model["parameters"] = {"uri": str(estimator)}  # type: ignore[assignment]
    (folder / "model-settings.json").write_text(json.dumps(model))
    return folder


def server(name: str, python: Path, model: Path, work: Path) -> Server:
    """How `name` starts (with `python`, its venv's) on a free port."""
    port = free_port()
    ready, path = "/v2/health/ready", "/v2/models/estimator/infer"
    estimator = estimator_of(model) or model
    if name == "ours":
        argv = [str(python), "-m", "mlops_actions", "scorer", "serve", str(model),
                "--port", str(port)]  # fmt: skip
        return Server(argv, port, "/health/ready", "/invocations", split_body,
                      predictions)  # fmt: skip
    if name == "mlflow":
        argv = [str(BIN / "mlflow"), "models", "serve", "-m", str(model),
                "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port),
                "-w", "1"]  # fmt: skip
        return Server(argv, port, "/ping", "/invocations", split_body, predictions)
    if name == "azmlinfsrv":
        (work / "score.py").write_text(SCORE_PY)
        argv = [str(python), "-c", AZML_HOST, "--entry_script",
                str(work / "score.py"), "--port", str(port)]  # fmt: skip
        return Server(argv, port, "/", "/score", split_body, predictions)
    if name == "mlserver":
        folder = mlserver_folder(work, estimator, port)
        argv = [str(python.parent / "mlserver"), "start", str(folder)]
        return Server(argv, port, ready, path, v2_body, v2_outputs)
    if name == "kserve":
        argv = [str(python), str(PEER_DIR / "kserve_server.py"), str(port)]
        return Server(argv, port, ready, path, v2_body, v2_outputs)
    if name == "litserve":
        argv = [str(python), str(PEER_DIR / "litserve_server.py"), str(port)]
        return Server(argv, port, "/health", "/predict", rows_body, predictions)
    argv = [str(python.parent / "bentoml"), "serve", "bentoml_service:Estimator",
            "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    return Server(argv, port, "/readyz", "/predict", rows_body, lambda a: a, PEER_DIR)


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


def loopback(address: str) -> bool:
    """Whether a /proc/net/tcp{,6} local address (hex IP:port) is loopback."""
    ip = address.split(":")[0]
    if len(ip) == 8:  # IPv4, little-endian: 127.x.x.x ends in 7F
        return ip[6:8] == "7F"
    return ip == "00000000000000000000000001000000" or (
        ip[:24] == "0000000000000000FFFF0000" and ip[30:32] == "7F"
    )


def process_tree(pid: int) -> list[int]:
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                todo += [int(x) for x in (task / "children").read_text().split()]
            except OSError:
                continue
    return tree


def listeners(pid: int) -> list[str]:
    """Local addresses (hex IP:port, as /proc has them) the tree listens on."""
    inodes = set()
    for member in process_tree(pid):
        for fd in Path(f"/proc/{member}/fd").glob("*"):
            try:
                socket_of = re.fullmatch(r"socket:\[(\d+)\]", os.readlink(fd))
            except OSError:  # closed since listed
                continue
            if socket_of:
                inodes.add(socket_of[1])
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                found.append(fields[1])
    return found


def parse_wrk(out: str) -> dict[str, Any]:
    """req/s, p50 and p99 in ms, non-2xx count and socket errors of wrk --latency."""
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": float(_found(r"Requests/sec:\s+([\d.]+)", out)),
        "p50": _ms(_found(r"\s50%\s+(\S+)", out)),
        "p99": _ms(_found(r"\s99%\s+(\S+)", out)),
        "errors": int(errors[1]) if errors else 0,
        "socket": sockets[1].strip() if sockets else "",
    }


def _found(pattern: str, out: str) -> str:
    match = re.search(pattern, out)
    if match is None:
        raise ValueError(f"wrk printed no {pattern!r}: {out[-200:]}")
    return match[1]


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"not a wrk latency: {text!r}")
    value, unit = match.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(url: str, raw: bytes, connections: int, seconds: float, work: Path) -> dict:
    script = work / "post.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = [==[{raw.decode()}]==]\n"
    )
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency",
         "-s", str(script), url],
        capture_output=True, text=True, check=True, timeout=seconds + 60,
    ).stdout  # fmt: skip
    return parse_wrk(out)


def ask(url: str, raw: bytes) -> Any:
    request = urllib.request.Request(url, raw, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def checked_bodies(spec: Server, url: str, data: tuple, expected: dict) -> dict:
    """rows -> the request, if the server's answer to it is the estimator's;
    else "wrong answer: ..." with what came back instead."""
    bodies: dict[int, bytes | str] = {}
    for rows in (1, 10):
        raw = spec.body(data[0], data[1][:rows])
        try:
            got = spec.answer(ask(url, raw))
        except (LookupError, TypeError, ValueError, OSError) as exc:
            got = f"no predictions ({exc})"
        right = same_answer(expected[rows], got)
        bodies[rows] = raw if right else f"wrong answer: {str(got)[:60]}"
    return bodies


def stop(process: subprocess.Popen) -> None:
    """End the server and every process it started (its own session)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
    except subprocess.TimeoutExpired:
        pass
    except ProcessLookupError:
        return
    # A parent that has exited can leave workers behind (LitServe's did).
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def measure(name: str, spec: Server, data: tuple, expected: dict, args, work, env):
    """{(connections, rows): wrk figures or "wrong answer ..."}, or why none."""
    results: dict[tuple[int, int], dict | str] = {}
    log = work / f"{name}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            spec.argv, env=env, cwd=spec.cwd, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        wait_ready(process, f"http://127.0.0.1:{spec.port}{spec.ready}")
        exposed = [x for x in listeners(process.pid) if not loopback(x)]
        if exposed:
            return f"listens beyond 127.0.0.1 ({', '.join(exposed)}): not measured"
        url = f"http://127.0.0.1:{spec.port}{spec.path}"
        bodies = checked_bodies(spec, url, data, expected)
        right = [raw for raw in bodies.values() if isinstance(raw, bytes)]
        if right:  # first requests (imports, pools, caches) are not timed
            wrk(url, right[0], 8, min(2.0, args.duration), work)
        for connections in args.connections:
            for rows, raw in bodies.items():
                results[connections, rows] = (
                    wrk(url, raw, connections, args.duration, work)
                    if isinstance(raw, bytes)
                    else raw
                )
        return results
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        said = log.read_text(errors="replace").strip().splitlines()[-1:]
        return f"unavailable: {exc}" + (f" ({said[0][:120]})" if said else "")
    finally:
        stop(process)


def report(results: dict, connections: list[int]) -> list[str]:
    """One line per contender per (connections, rows): figures or why not."""
    lines = [
        f"{'contender':<11} {'conns':>5} {'rows':>4} {'req/s':>9} {'rows/s':>9} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'ours/it':>8}  errors"
    ]
    for name, result in results.items():
        if isinstance(result, str):
            lines.append(f"{name:<11} {result}")
    ours = results.get("ours")
    for conns in connections:
        for rows in (1, 10):
            for name, result in results.items():
                if isinstance(result, str):
                    continue
                r = result[conns, rows]
                lead = f"{name:<11} {conns:>5} {rows:>4}"
                if isinstance(r, str):
                    lines.append(f"{lead} {r}")
                    continue
                mine = ours[conns, rows] if isinstance(ours, dict) else None
                ratio = (
                    f"{mine['rps'] / r['rps']:>7.2f}x"
                    if isinstance(mine, dict) and r["rps"]
                    else f"{'-':>8}"
                )
                errors = f"{r['errors']} non-2xx" if r["errors"] else "0"
                if r["socket"]:
                    errors += f", socket errors ({r['socket']})"
                lines.append(
                    f"{lead} {r['rps']:>9,.0f} {r['rps'] * rows:>9,.0f} "
                    f"{r['p50']:>8.2f} {r['p99']:>8.2f} {ratio}  "
                    f"{errors}"
                )
    return lines


def verdicts(results: dict, connections: list[int], field: tuple) -> list[str]:
    """One line per goal: req/s over the best peer, and the lowest p99, per load."""
    ours = results.get("ours")
    if not isinstance(ours, dict):
        return ["verdict: ours was not measured"]
    absent = [p for p in field if not isinstance(results.get(p), dict)]
    lacking = f" (without {', '.join(absent)})" if absent else ""
    lines = []
    for conns in connections:
        goal = GOALS.get(conns, 3.0)
        speed, tail, speed_met, tail_met = [], [], True, True
        for rows in (1, 10):
            mine = ours[conns, rows]
            peers = {
                p: results[p][conns, rows]
                for p in field
                if isinstance(results.get(p), dict)
                and isinstance(results[p][conns, rows], dict)
            }
            if not isinstance(mine, dict) or not peers:
                why = "ours: " + mine if isinstance(mine, str) else "no peer measured"
                speed.append(f"{rows}-row {why}")
                tail.append(f"{rows}-row {why}")
                speed_met = tail_met = False  # nothing to claim against
                continue
            best = max(peers, key=lambda p: peers[p]["rps"])
            ratio = mine["rps"] / peers[best]["rps"]
            speed_met &= ratio >= goal and not mine["errors"]
            speed.append(f"{rows}-row {ratio:.2f}x {best}")
            low = min(peers, key=lambda p: peers[p]["p99"])
            tail_met &= mine["p99"] < peers[low]["p99"] and not mine["errors"]
            tail.append(
                f"{rows}-row {mine['p99']:.2f} vs {peers[low]['p99']:.2f} ms {low}"
            )
        lines.append(
            f"verdict c{conns} req/s >= {goal:g}x the best peer: "
            f"{'met' if speed_met else 'NOT met'} ({'; '.join(speed)}){lacking}"
        )
        lines.append(
            f"verdict c{conns} lowest p99 of the field: "
            f"{'met' if tail_met else 'NOT met'} ({'; '.join(tail)}){lacking}"
        )
    return lines


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gbm", help="gbm, reference or a folder")
    parser.add_argument("--duration", type=float, default=10.0, help="wrk seconds")
    parser.add_argument("--threads", default="1", help="OMP_NUM_THREADS for all")
    parser.add_argument(
        "--peers",
        default=",".join(("ours", *PEERS)),
        help="comma list of contenders besides ours, which always runs",
    )
    parser.add_argument(
        "--connections", default="1,8,64", help="comma list of wrk -c values"
    )
    parser.add_argument(
        "--venvs",
        type=Path,
        default=Path.home() / ".cache" / "mlops-actions" / "bench-venvs",
        help="where the peers' venvs are made and reused",
    )
    args = parser.parse_args()
    # Every figure is read against ours, so ours always runs, first.
    args.peers = ["ours", *(p for p in args.peers.split(",") if p not in ("", "ours"))]
    unknown = set(args.peers) - {"ours", *PEERS}
    if unknown:
        parser.error(f"unknown contenders: {', '.join(sorted(unknown))}")
    args.connections = [int(c) for c in args.connections.split(",")]
    return args


def python_for(name: str, args, estimator: Path | None) -> Path | str:
    """The interpreter a contender runs with, or why it cannot run."""
    if name in ("ours", "mlflow"):
        return Path(sys.executable)
    if name == "azmlinfsrv":
        return azml_python(args.venvs / f"azmlinfsrv-{AZML_VERSION}")
    if estimator is None:
        return "unavailable: the model has no sklearn flavor to serve"
    made = peer_venv(name, args.venvs)
    return made if isinstance(made, Path) else f"unavailable: {made}"


def main() -> None:
    # The estimator was fitted on a DataFrame; the floor feeds it an array.
    warnings.filterwarnings("ignore", message="X does not have valid feature names")
    args = arguments()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    os.environ["OMP_NUM_THREADS"] = args.threads
    with tempfile.TemporaryDirectory(prefix="mlops-bench-scorer-") as tmp:
        work = Path(tmp)
        makers = {"gbm": gbm_model, "reference": reference_model}
        if args.model in makers:
            model, rows = makers[args.model](work)
        else:
            model = Path(args.model)
            rows = example_rows(model)
        columns = list(rows[0])
        matrix = [[row[c] for c in columns] for row in rows]
        estimator = estimator_of(model)
        expected, floor = truth(model, estimator, columns, matrix)
        env = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
            "BENCH_MODEL": str(model),
            "BENCH_ESTIMATOR": str(estimator),
        }
        peer_env = {k: v for k, v in env.items() if k not in ("PYTHONPATH",)}
        peer_env.pop("VIRTUAL_ENV", None)
        peer_env["PATH"] = os.environ["PATH"]
        pythons = {name: python_for(name, args, estimator) for name in args.peers}
        print(
            f"model {args.model}; wrk -t1 -c{','.join(map(str, args.connections))} "
            f"-d{args.duration:g}s; OMP_NUM_THREADS={args.threads}; "
            f"{os.cpu_count()} CPUs"
        )
        kind = "estimator predict on a float array" if estimator else "pyfunc predict"
        print(
            f"floor ({kind}, in-process, median): "
            + "; ".join(
                f"{n}-row {s * 1000:.3f} ms/call = {n / s:,.0f} rows/s"
                for n, s in floor.items()
            ),
            flush=True,
        )
        results: dict[str, dict | str] = {}
        for name, python in pythons.items():
            if isinstance(python, str):
                results[name] = python
                continue
            spec = server(name, python, model, work)
            own = env if name in ("ours", "mlflow") else peer_env
            results[name] = measure(
                name, spec, (columns, matrix), expected, args, work, own
            )
        for line in report(results, args.connections):
            print(line)
        field = tuple(p for p in PEERS)
        for line in verdicts(results, args.connections, field):
            print(line)


def truth(model: Path, estimator: Path | None, columns: list[str], matrix: list):
    """The predictions every server must give, and the floor's seconds."""
    import numpy as np

    if estimator is None:
        import mlflow.pyfunc
        import pandas as pd

        loaded = mlflow.pyfunc.load_model(str(model))
        frame = pd.DataFrame(matrix, columns=columns)
        out = loaded.predict(frame)
        if isinstance(out, pd.DataFrame):
            out = out.to_dict(orient="records")
        else:
            out = np.asarray(out).tolist()
        expected = {rows: out[:rows] for rows in (1, 10)}
        return expected, pyfunc_floor(model, columns, matrix)
    with open(estimator, "rb") as file:
        est = pickle.load(file)
    X = np.asarray(matrix, dtype=np.float64)
    expected = {rows: est.predict(X[:rows]).tolist() for rows in (1, 10)}
    return expected, estimator_floor(estimator, X)


if __name__ == "__main__":
    main()
