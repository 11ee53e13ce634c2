"""The local runner on the toy pipeline: order, bindings, cache, failures, Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

RUN_LINE = re.compile(
    r"run (?P<id>\S+) completed in [\d.]+s: 2 steps, (?P<reused>\d) reused "
    r"\(\.mlops/runs/(?P=id)\)"
)


def run_id(result) -> str:
    match = RUN_LINE.search(result.out)
    assert match, result
    return match["id"]


def test_cold_run_prints_steps_metrics_and_outputs(mlops, toy):
    result = mlops("pipeline", "run", str(toy))
    assert result.code == 0, result
    rid = run_id(result)
    err = result.err.splitlines()
    assert err[0] == "pipeline toy: 2 steps, local backend, state in .mlops"
    assert err[1] == (
        "not used locally: compute azureml:cpu-cluster, environment "
        f"azureml:AzureML-sklearn-1.5@latest (steps run with {sys.executable})"
    )
    python = ".".join(map(str, sys.version_info[:3]))
    assert err[2] == (
        f"env: produce, consume: host (python {python}; azureml:AzureML-sklearn-1.5"
        "@latest: no local environments/*/environment.yml named AzureML-sklearn-1.5)"
    )
    assert [re.sub(r"[\d.]+s$", "Ns", line) for line in err[3:]] == [
        "[1/2] produce: started",
        "[1/2] produce: completed in Ns",
        "[2/2] consume: started",
        "[2/2] consume: completed in Ns",
    ]
    folder = f".mlops/runs/{rid}/consume/outputs/result"
    assert result.out.splitlines()[:5] == [
        f"metrics (consume: {folder}/metrics.json):",
        "  lines  3",
        "  ratio  0.7500",
        "outputs:",
        f"  result  {folder}",
    ]
    lines = Path(f".mlops/runs/{rid}/produce/outputs/lines/lines.txt").read_text()
    assert lines == "hello 0\nhello 1\nhello 2\n"
    log = Path(f".mlops/runs/{rid}/produce/logs/std_log.txt").read_text()
    assert log == "wrote 3 lines; step=produce\n"
    record = json.loads(Path(f".mlops/runs/{rid}/run.json").read_text())
    assert record["status"] == "completed"
    assert [s["status"] for s in record["steps"]] == ["completed", "completed"]
    assert record["inputs"] == {"count": 3, "word": "hello", "fail_with": 0}


def test_unchanged_rerun_reuses_every_step(mlops, toy, tmp_path, monkeypatch):
    counter = tmp_path / "counter.txt"
    monkeypatch.setenv("TOY_COUNTER", str(counter))
    first = run_id(mlops("pipeline", "run", str(toy)))
    second = mlops("pipeline", "run", str(toy))
    assert "2 steps, 2 reused" in second.out
    assert f"[1/2] produce: reused from run {first}" in second.err
    assert f"[2/2] consume: reused from run {first}" in second.err
    assert counter.read_text() == "produce\nconsume\n"  # nothing ran twice
    assert f".mlops/runs/{first}/consume/outputs/result" in second.out


def test_changed_input_or_code_reruns_only_what_depends_on_it(
    mlops, toy, tmp_path, monkeypatch
):
    counter = tmp_path / "counter.txt"
    monkeypatch.setenv("TOY_COUNTER", str(counter))
    mlops("pipeline", "run", str(toy))
    counter.write_text("")
    # --set changes produce's input, so both steps run.
    result = mlops("pipeline", "run", str(toy), "--set", "count=5")
    assert "0 reused" in result.out and "  lines  5" in result.out
    counter.write_text("")
    # Editing consume's code re-runs consume alone.
    script = toy.parent / "components" / "consume" / "consume.py"
    script.write_text(script.read_text() + "\n# edited\n")
    result = mlops("pipeline", "run", str(toy), "--set", "count=5")
    assert counter.read_text() == "consume\n"
    assert "[1/2] produce: reused" in result.err
    # --no-cache runs everything again.
    counter.write_text("")
    mlops("pipeline", "run", str(toy), "--set", "count=5", "--no-cache")
    assert counter.read_text() == "produce\nconsume\n"


def test_optional_input_part_is_dropped_or_kept(mlops, toy):
    import yaml

    data = yaml.safe_load(toy.read_text())
    data["jobs"]["produce"]["inputs"]["suffix"] = "!"
    toy.write_text(yaml.safe_dump(data))
    rid = run_id(mlops("pipeline", "run", str(toy), "--set", "count=1"))
    text = Path(f".mlops/runs/{rid}/produce/outputs/lines/lines.txt").read_text()
    assert text == "hello! 0\n"


def test_value_with_shell_syntax_reaches_the_step_verbatim(mlops, toy, tmp_path):
    hostile = 'a"; touch {0}; echo "$(id) `id`'.format(tmp_path / "pwned")
    rid = run_id(mlops("pipeline", "run", str(toy), "--set", f"word={hostile}"))
    text = Path(f".mlops/runs/{rid}/produce/outputs/lines/lines.txt").read_text()
    assert text.splitlines()[0] == f"{hostile} 0"
    assert not (tmp_path / "pwned").exists()


def test_failed_step_exits_3_with_log_tail_and_is_never_reused(mlops, toy):
    failed = mlops("pipeline", "run", str(toy), "--set", "fail_with=1")
    assert failed.code == 3
    err = failed.err.splitlines()
    at = err.index("error: step consume failed with exit code 1")
    assert err[at + 1].startswith("--- last lines of .mlops/runs/")
    assert err[at + 2] == "step output before the crash"
    assert err[-1] == "RuntimeError: consume broke on purpose"
    assert failed.out == ""
    again = mlops("pipeline", "run", str(toy), "--set", "fail_with=1")
    assert "[2/2] consume: started" in again.err  # not reused
    records = sorted(Path(".mlops/runs").glob("*/run.json"))
    assert [json.loads(p.read_text())["status"] for p in records] == ["failed"] * 2


def test_step_refusing_its_input_exits_2_with_its_message(mlops, toy):
    result = mlops("pipeline", "run", str(toy), "--set", "fail_with=2")
    assert result.code == 2
    assert re.search(
        r"^error: step consume: --lines folder is empty: pass the produce step's "
        r"output \(log: \.mlops/runs/\S+/consume/logs/std_log\.txt\)$",
        result.err,
        re.M,
    ), result.err


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--set", "nope=1"],
            "error: --set nope: {toy} has no input 'nope' "
            "(known: count, word, fail_with)\n",
        ),
        (["--set", "count=many"], "error: --set count=many: expected an integer\n"),
        (["--set", "count"], "error: --set 'count': expected NAME=VALUE\n"),
    ],
)
def test_bad_set_is_refused_before_anything_runs(mlops, toy, args, message):
    result = mlops("pipeline", "run", str(toy), *args)
    assert result.code == 2
    assert result.err == message.format(toy=toy)
    assert not Path(".mlops/runs").exists()


def test_azure_backend_without_a_workspace_says_how_to_name_one(
    mlops, toy, monkeypatch
):
    for name in [n for n in os.environ if n.startswith(("MLOPS_AZURE_", "AZURE_"))]:
        monkeypatch.delenv(name)
    result = mlops("--backend", "azure", "pipeline", "run", str(toy))
    assert result.code == 2
    assert result.err.startswith("error: no Azure ML workspace: give the")
    assert not Path(".mlops/runs").exists()


def test_json_output_is_the_run_record(mlops, toy):
    result = mlops("-q", "pipeline", "run", str(toy), "--json")
    assert result.err == ""
    record = json.loads(result.out)
    assert record["schema"] == "mlops-actions/pipeline-run"
    assert record["status"] == "completed"
    assert record["metrics"]["metrics"] == {"lines": 3, "ratio": 0.75}
    assert set(record["outputs"]) == {"result"}
    assert Path(record["outputs"]["result"], "metrics.json").is_file()


def test_verbose_streams_step_output(mlops, toy):
    result = mlops("-v", "pipeline", "run", str(toy))
    assert "wrote 3 lines; step=produce\n" in result.err


def test_tracking_env_reaches_steps(mlops, toy, tmp_path):
    script = toy.parent / "components" / "produce" / "produce.py"
    script.write_text(
        script.read_text()
        + "print('uri=' + os.environ['MLFLOW_TRACKING_URI'])\n"
        + "print('exp=' + os.environ['MLFLOW_EXPERIMENT_NAME'])\n"
    )
    rid = run_id(mlops("pipeline", "run", str(toy)))
    log = Path(f".mlops/runs/{rid}/produce/logs/std_log.txt").read_text()
    db = (Path.cwd() / ".mlops" / "mlflow.db").resolve()
    assert f"uri=sqlite:///{db}\n" in log
    assert "exp=toy\n" in log


def test_ctrl_c_stops_the_step_and_nothing_is_reused(toy, tmp_path):
    """Real process, real SIGINT: the child gets TERM, the run says cancelled."""
    signal_file = tmp_path / "signal.txt"
    env = {**os.environ, "TOY_SIGNAL_FILE": str(signal_file)}
    env.pop("MLOPS_HOME", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlops_actions",
            "pipeline",
            "run",
            str(toy),
            "--set",
            "fail_with=99",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        logs = list(Path(".mlops/runs").glob("*/consume/logs/std_log.txt"))
        if logs and "waiting" in logs[0].read_text():
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 3
    assert err.splitlines()[-1] == (
        "error: interrupted (SIGINT) during step consume: the step was stopped "
        "and will not be reused"
    )
    assert signal_file.read_text() == "SIGTERM"
    record = json.loads(next(Path(".mlops/runs").glob("*/run.json")).read_text())
    assert record["status"] == "cancelled"
    assert [s["status"] for s in record["steps"]] == ["completed", "cancelled"]
    assert not any(
        json.loads(p.read_text())["step"].endswith("consume/step.json")
        for p in Path(".mlops/cache").glob("*.json")
    )


def test_inside_actions_outputs_and_summary_are_written(
    mlops, toy, tmp_path, monkeypatch
):
    output, summary = tmp_path / "output.txt", tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    rid = run_id(mlops("pipeline", "run", str(toy)))
    text = output.read_text()
    delimiters = re.findall(r"^run-id<<(\S+)$", text, re.M)
    assert len(delimiters) == 1
    assert f"run-id<<{delimiters[0]}\n{rid}\n{delimiters[0]}\n" in text
    assert re.search(r"^status<<(\S+)\ncompleted\n\1$", text, re.M)
    assert re.search(
        r"^output-result<<(\S+)\n/\S+/consume/outputs/result\n\1$", text, re.M
    )
    lines = [
        re.sub(r"\d+\.\d\d s", "N s", ln) for ln in summary.read_text().splitlines()
    ]
    assert lines[:6] == [
        f"### Pipeline `toy`: run `{rid}` completed",
        "",
        "| step | status | time | reused from |",
        "|---|---|---|---|",
        "| produce | completed | N s |  |",
        "| consume | completed | N s |  |",
    ]
    assert "| lines | 3 |" in summary.read_text()


def test_inside_actions_a_failure_is_annotated(mlops, toy, monkeypatch):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = mlops("pipeline", "run", str(toy), "--set", "fail_with=1")
    assert result.code == 3
    assert "::error::step consume failed with exit code 1\n" in result.out
