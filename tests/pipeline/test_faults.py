"""Faults found by probing the local runner (issue 8), one test or more each.

Cache reuse of damaged outputs, whole-log tails, credentials in URIs, run ids
and job names as paths, YAML alias bombs. Stopping steps: test_stopping.py.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import threading
import tracemalloc
from pathlib import Path

import pytest
from faults import bomb, one_step

from mlops_actions.errors import UsageError

RUN_LINE = re.compile(r"run (?P<id>\S+) completed in [\d.]+s: (?P<steps>\d) steps")


def run_id(result) -> str:
    match = RUN_LINE.search(result.out)
    assert match, result
    return match["id"]


# -- 1. a cache that verifies what it reuses ---------------------------------


def test_a_cached_step_whose_outputs_were_damaged_runs_again(
    mlops, toy, tmp_path, monkeypatch
):
    counter = tmp_path / "counter.txt"
    monkeypatch.setenv("TOY_COUNTER", str(counter))
    first = run_id(mlops("pipeline", "run", str(toy)))
    Path(f".mlops/runs/{first}/consume/outputs/result/metrics.json").unlink()
    counter.write_text("")
    second = mlops("pipeline", "run", str(toy))
    assert second.code == 0, second
    assert f"[1/2] produce: reused from run {first}" in second.err
    assert (
        f"[2/2] consume: outputs changed since run {first} "
        "(result differs from the recorded digest): re-running"
    ) in second.err
    assert counter.read_text() == "consume\n"
    rid = run_id(second)
    assert "2 steps, 1 reused" in second.out
    assert f"  result  .mlops/runs/{rid}/consume/outputs/result" in second.out
    assert "  lines  3" in second.out


def test_a_damaged_upstream_output_reruns_it_and_the_steps_reading_it(
    mlops, toy, tmp_path, monkeypatch
):
    # produce also writes a stamp that is not part of its cache key, so its
    # re-run makes different bytes and consume's input digest changes.
    script = toy.parent / "components" / "produce" / "produce.py"
    script.write_text(
        script.read_text()
        + "Path(args.out, 'stamp.txt').write_text(os.environ['TOY_STAMP'])\n"
    )
    counter = tmp_path / "counter.txt"
    monkeypatch.setenv("TOY_COUNTER", str(counter))
    monkeypatch.setenv("TOY_STAMP", "1")
    first = run_id(mlops("pipeline", "run", str(toy)))
    Path(f".mlops/runs/{first}/produce/outputs/lines/lines.txt").write_text("x\n")
    counter.write_text("")
    monkeypatch.setenv("TOY_STAMP", "2")
    second = mlops("pipeline", "run", str(toy))
    assert (
        f"[1/2] produce: outputs changed since run {first} "
        "(lines differs from the recorded digest): re-running"
    ) in second.err
    assert "[2/2] consume: started" in second.err
    assert counter.read_text() == "produce\nconsume\n"
    assert "2 steps, 0 reused" in second.out
    assert "  lines  3" in second.out  # counted the re-made file, not "x"


def test_an_edit_that_keeps_size_and_mtime_is_still_caught(mlops, toy):
    first = run_id(mlops("pipeline", "run", str(toy)))
    lines = Path(f".mlops/runs/{first}/produce/outputs/lines/lines.txt")
    before = lines.stat()
    lines.write_text(lines.read_text().replace("hello", "HELLO"))
    os.utime(lines, ns=(before.st_atime_ns, before.st_mtime_ns))
    second = mlops("pipeline", "run", str(toy))
    assert f"[1/2] produce: outputs changed since run {first}" in second.err
    rid = run_id(second)
    text = Path(f".mlops/runs/{rid}/produce/outputs/lines/lines.txt").read_text()
    assert text == "hello 0\nhello 1\nhello 2\n"


def test_outputs_touched_but_unchanged_are_still_reused(
    mlops, toy, tmp_path, monkeypatch
):
    counter = tmp_path / "counter.txt"
    monkeypatch.setenv("TOY_COUNTER", str(counter))
    first = run_id(mlops("pipeline", "run", str(toy)))
    os.utime(Path(f".mlops/runs/{first}/produce/outputs/lines/lines.txt"))
    for _ in range(2):  # the second time the refreshed stats match at once
        again = mlops("pipeline", "run", str(toy))
        assert "2 steps, 2 reused" in again.out
        assert "changed" not in again.err
    assert counter.read_text() == "produce\nconsume\n"


# -- 2. a log tail read from the end ---------------------------------------------


def test_a_failed_steps_log_tail_is_read_from_the_end_with_lines_cut(
    mlops, tmp_path, monkeypatch
):
    from mlops_actions.logs import CUT_AFTER

    pipeline = one_step(
        tmp_path,
        """
        import sys
        print("x" * 5_000_000)
        print("y" * 600)
        print("the real error")
        sys.exit(1)
        """,
    )
    monkeypatch.chdir(tmp_path)
    result = mlops("pipeline", "run", str(pipeline))
    assert result.code == 3
    err = result.err.splitlines()
    at = err.index("error: step step failed with exit code 1")
    assert err[at + 1].startswith("--- last lines of .mlops/runs/")
    assert err[at + 2 :] == ["y" * 500 + CUT_AFTER, "the real error"]
    assert len(result.err) < 10_000


def test_log_tail_holds_a_bounded_window_of_any_file(tmp_path):
    from mlops_actions.logs import CUT_AFTER, CUT_BEFORE, tail

    log = tmp_path / "std_log.txt"
    with log.open("wb") as f:
        for _ in range(32):
            f.write(b"z" * (1 << 20))  # one 32 MiB line, no newline
    tracemalloc.start()
    try:
        lines = tail(log)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert lines == [CUT_BEFORE + "z" * 500]
    assert peak < 1 << 20
    log.write_bytes(b"partial" * 20_000 + b"\n" + b"a\n" * 30 + b"\xff" + b"b" * 900)
    assert tail(log, 3) == ["a", "a", "\ufffd" + "b" * 499 + CUT_AFTER]
    assert tail(tmp_path / "missing.txt") == []


# -- 4. credentials in URIs redacted wherever printed or stored -------------------


INGEST_ONLY = """\
type: pipeline
display_name: ingest-only
inputs:
  source: sample:penguins
jobs:
  ingest:
    type: command
    component: ./components/ingest/component.yml
    inputs:
      source: ${{parent.inputs.source}}
"""


class TableHandler(http.server.BaseHTTPRequestHandler):
    """Serves one CSV at /table.csv (any query), 403 at /forbidden.csv."""

    def do_GET(self) -> None:
        body = b"a,label\n1,yes\n2,no\n"
        forbidden = self.path.startswith("/forbidden.csv")
        self.send_response(403 if forbidden else 200)
        self.send_header("Content-Length", "0" if forbidden else str(len(body)))
        self.end_headers()
        if not forbidden:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def table_server():
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), TableHandler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        yield f"http://127.0.0.1:{server.server_address[1]}"
        server.shutdown()


@pytest.mark.parametrize(
    "path, code", [("table.csv", 0), ("forbidden.csv", 2)], ids=["read", "refused"]
)
def test_a_credential_in_a_source_uri_never_reaches_output_or_files(
    mlops, reference, table_server, tmp_path, monkeypatch, path, code
):
    pipeline = reference.parent / "ingest-only.yml"
    pipeline.write_text(INGEST_ONLY)
    monkeypatch.chdir(tmp_path)
    for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        monkeypatch.setenv(name, str(tmp_path / name))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    source = f"{table_server}/{path}?sv=2024&sig=CANARY%2B1"
    result = mlops(
        "pipeline", "run", str(pipeline), "--env", "host", "--set", f"source={source}"
    )
    assert result.code == code, result
    masks = [ln for ln in result.err.splitlines() if ln.startswith("::add-mask::")]
    # The runner unescapes %25 to %: it masks CANARY%2B1 and its decoded form.
    assert masks == ["::add-mask::CANARY%252B1", "::add-mask::CANARY+1"]
    assert result.err.index("::add-mask::") == 0  # before anything else
    shown = result.err.replace("\n".join(masks), "")
    assert "CANARY" not in result.out + shown
    assert f"{table_server}/{path}?sv=2024&sig=***" in result.out + shown + "".join(
        p.read_text() for p in Path(".mlops/runs").rglob("std_log.txt")
    )
    written = [p for p in Path(".mlops").rglob("*") if p.is_file()]
    written += [tmp_path / "GITHUB_OUTPUT", tmp_path / "GITHUB_STEP_SUMMARY"]
    assert {p.name for p in written} >= {"run.json", "step.json", "std_log.txt"}
    if code == 0:
        assert any(p.name == "manifest.json" for p in written)
    for file in written:
        if file.exists():
            assert b"CANARY" not in file.read_bytes(), file


def test_a_credential_in_a_bad_set_value_is_redacted(mlops, toy):
    result = mlops("pipeline", "run", str(toy), "--set", "count=https://u:CANARY@h/")
    assert result.code == 2
    assert result.err == "error: --set count=https://u:***@h/: expected an integer\n"


@pytest.mark.parametrize(
    "text, shown",
    [
        (
            "https://acct.blob.core.windows.net/c/t.csv?sv=2024-01&SIG=a%2Bb&se=1",
            "https://acct.blob.core.windows.net/c/t.csv?sv=2024-01&SIG=***&se=1",
        ),
        (
            "s3://b/k?X-Amz-Credential=AK&X-Amz-Signature=f0&X-Amz-Date=1",
            "s3://b/k?X-Amz-Credential=***&X-Amz-Signature=***&X-Amz-Date=1",
        ),
        (
            "https://user:p@ss@host:8080/x?token=t#f",
            "https://user:***@host:8080/x?token=***#f",
        ),
        (
            "source 'https://h/x?sig=c' answered",
            "source 'https://h/x?sig=***' answered",
        ),
        ("sample:synthetic?rows=10&seed=3", "sample:synthetic?rows=10&seed=3"),
        ("ssh://git@github.com/o/r", "ssh://git@github.com/o/r"),
        ("https://host:8080/path@v1", "https://host:8080/path@v1"),
    ],
)
def test_redact_hides_listed_parameters_and_passwords_only(text, shown):
    from mlops_actions.redact import redact

    assert redact(text) == shown


# -- 5. run ids and names cannot reach outside .mlops ---------------------------


@pytest.mark.parametrize("run", ["../../x", "/etc", "20260101-000000-aaaaaa/../.."])
def test_a_run_id_that_is_not_one_is_refused_naming_the_flag(mlops, tmp_path, run):
    outside = tmp_path / "x"
    outside.mkdir()
    (outside / "run.json").write_text('{"schema": "mlops-actions/pipeline-run"}')
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    os.chdir(work)
    result = mlops("model", "register", "--name", "m", "--run", run)
    assert result.code == 2
    assert result.err == (
        f"error: --run {run}: not a run id: pass latest, an id such as "
        "20260101-120000-a1b2c3 as `mlops pipeline run` prints, or the Azure ML "
        "job name `mlops pipeline submit` prints\n"
    )


def test_a_job_name_cannot_reach_outside_the_run_folder(mlops, tmp_path, monkeypatch):
    pipeline = one_step(tmp_path, "print('ran')\n", job='"../../../escaped"')
    monkeypatch.chdir(tmp_path)
    result = mlops("pipeline", "run", str(pipeline))
    assert result.code == 2
    assert result.err.startswith(
        f"error: {pipeline}:4: jobs.../../../escaped: job name"
    )
    assert not (tmp_path / "escaped").exists()
    assert not Path(".mlops/runs").exists()


# -- 6. YAML alias expansion bounded ----------------------------------------------


def test_a_yaml_alias_bomb_in_gate_yml_is_refused_naming_the_file(tmp_path):
    from mlops_actions.gate.rules import load_rules

    rules = tmp_path / "gate.yml"
    rules.write_text("version: 1\nmodel: m\nprimary: accuracy\n" + bomb())
    with pytest.raises(UsageError) as caught:
        load_rules(rules)
    assert caught.value.message == (
        f"{rules}: YAML expands to more than 100000 values (aliases counted at "
        "each use): write the values out or remove the aliases"
    )


def test_a_yaml_alias_bomb_in_a_pipeline_file_is_refused(mlops, toy):
    toy.write_text(toy.read_text() + "tags:\n" + bomb(indent="  "))
    result = mlops("pipeline", "run", str(toy))
    assert result.code == 2
    assert result.err == (
        f"error: {toy}: YAML expands to more than 100000 values (aliases counted "
        "at each use): write the values out or remove the aliases\n"
    )


def test_a_yaml_alias_bomb_in_a_component_file_is_refused(mlops, toy):
    component = toy.parent / "components" / "produce" / "component.yml"
    component.write_text(component.read_text() + "tags:\n" + bomb(indent="  "))
    result = mlops("pipeline", "run", str(toy))
    assert result.code == 2
    first = result.err.splitlines()[0]
    assert first.startswith(f"error: {toy}:")
    assert first.endswith(
        f"jobs.produce.component: {component}: YAML expands to "
        "more than 100000 values (aliases counted at each use): "
        "write the values out or remove the aliases"
    )


def test_a_yaml_alias_bomb_in_an_environment_file_is_refused(mlops, reference):
    # azure-ai-ml loads environment and conda files unbounded: ours runs first.
    conda = reference.parents[1] / "environments" / "cpu" / "conda.yml"
    conda.write_text(conda.read_text() + "tags:\n" + bomb(indent="  "))
    result = mlops("pipeline", "validate", str(reference))
    assert result.code == 2
    assert result.err == (
        f"error: {conda.resolve()}: YAML expands to more than 100000 values "
        "(aliases counted at each use): write the values out or remove the "
        "aliases\n"
    )


def test_a_recursive_yaml_alias_is_refused(tmp_path):
    from mlops_actions.gate.rules import load_rules

    rules = tmp_path / "gate.yml"
    rules.write_text("version: 1\nloop: &loop [1, *loop]\n")
    with pytest.raises(UsageError) as caught:
        load_rules(rules)
    assert caught.value.message == (
        f"{rules}:2: invalid YAML: an alias refers to a node that contains it: "
        "write the value out"
    )


def test_lines_of_shared_yaml_nodes_are_walked_once(tmp_path):
    from mlops_actions.yamlfile import load_yaml

    path = tmp_path / "doc.yml"
    path.write_text(bomb(levels=4, width=9))  # 6561 scalars, 15 distinct nodes
    doc = load_yaml(path, "document")
    assert len(doc.data["a4"]) == 9
    assert len(doc.lines) < 100
    assert doc.line(("a4", "3", "0")) == 4  # an alias: where its value is written


def test_run_records_hold_no_credentials(mlops, toy):
    rid = run_id(
        mlops("pipeline", "run", str(toy), "--set", "word=https://h/x?sig=CANARY")
    )
    for record in Path(f".mlops/runs/{rid}").rglob("*.json"):
        assert "CANARY" not in record.read_text(), record
    run = json.loads(Path(f".mlops/runs/{rid}/run.json").read_text())
    assert run["inputs"]["word"] == "https://h/x?sig=***"
    lines = Path(f".mlops/runs/{rid}/produce/outputs/lines/lines.txt").read_text()
    assert lines.startswith("https://h/x?sig=CANARY 0\n")  # the step got the value
