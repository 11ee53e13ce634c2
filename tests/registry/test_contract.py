"""The Registry contract, run against every implementation."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from mlops_actions.errors import UsageError
from mlops_actions.registry import Audit, ChampionMoved

ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
SHA = "c0ffee" * 6 + "abcd"
ALICE = Audit.from_env(
    {
        "GITHUB_ACTOR": "alice",
        "GITHUB_SHA": SHA,
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "octo/models",
        "GITHUB_RUN_ID": "42",
    },
    gate_decision="promote",
    reason="better f1",
)


def register(subject, name, models, k, run=None, commit=SHA, evaluation=None):
    return subject.registry.register(
        name,
        models[k],
        evaluation_dir=evaluation,
        run_id=run or f"run-{k}",
        commit=commit,
    )


def test_audit_from_github_env():
    assert ALICE == Audit(
        actor="alice",
        commit=SHA,
        run_url="https://github.com/octo/models/actions/runs/42",
        gate_decision="promote",
        reason="better f1",
    )


def test_register_records_provenance(subject, name, models, evaluation):
    version, created = register(subject, name, models, 1, evaluation=evaluation)
    assert created
    assert (version.name, version.version) == (name, "1")
    assert version.uri == f"models:/{name}/1"
    assert (version.run_id, version.commit) == ("run-1", SHA)
    assert re.fullmatch(r"[0-9a-f]{64}", version.digest)
    assert version.metrics == {"accuracy": 0.75, "f1": 0.5}
    assert ISO.fullmatch(version.created)
    assert subject.registry.get(name, "1") == version
    assert subject.registry.champion(name) is None


def test_promote_compare_and_set_and_rollback(subject, name, models):
    registry = subject.registry
    for k in (1, 2, 3):
        register(subject, name, models, k)
    first = registry.promote(name, "1", expect_champion=None, audit=ALICE)
    assert (first.action, first.version, first.previous) == ("promote", "1", None)
    assert registry.champion(name).version == "1"
    assert registry.get(name, "1").aliases == ("champion",)

    second = registry.promote(name, "2", expect_champion="1", audit=ALICE)
    assert (second.version, second.previous) == ("2", "1")
    assert registry.get(name, "1").aliases == ("previous-champion",)
    tags = registry.get(name, "2").tags
    assert tags["mlops.promoted_by"] == "alice"
    assert tags["mlops.gate_decision"] == "promote"
    assert ISO.fullmatch(tags["mlops.promoted_at"])

    before = registry.history(name)
    with pytest.raises(ChampionMoved) as moved:
        registry.promote(name, "3", expect_champion="1", audit=ALICE)
    assert moved.value.exit_code == 1
    assert moved.value.message == (
        f"champion of {name} is now version 2, not version 1 as the gate "
        "compared: re-run the gate"
    )
    assert registry.champion(name).version == "2"
    assert registry.get(name, "3").aliases == ()
    assert registry.history(name) == before

    back = registry.rollback(name, audit=Audit("bob", None, None, None, "smoke"))
    assert (back.action, back.version, back.previous) == ("rollback", "1", "2")
    assert registry.champion(name).version == "1"

    history = registry.history(name)
    assert [(e.action, e.version, e.previous) for e in history] == [
        ("register", "1", None),
        ("register", "2", None),
        ("register", "3", None),
        ("promote", "1", None),
        ("promote", "2", "1"),
        ("rollback", "1", "2"),
    ]
    assert history[4].audit == ALICE
    assert history[5].audit.actor == "bob" and history[5].audit.reason == "smoke"
    assert all(ISO.fullmatch(e.time) for e in history)


def test_first_promotion_expecting_a_champion_is_refused(subject, name, models):
    register(subject, name, models, 1)
    with pytest.raises(ChampionMoved, match="is now none, not version 1 as"):
        subject.registry.promote(name, "1", expect_champion="1", audit=ALICE)
    assert subject.registry.champion(name) is None


def test_rollbacks_undo_promotions_in_turn(subject, name, models):
    registry = subject.registry
    expected = None
    for k in (1, 2, 3):
        register(subject, name, models, k)
        registry.promote(name, str(k), expect_champion=expected, audit=ALICE)
        expected = str(k)
    assert registry.rollback(name, audit=ALICE).version == "2"
    assert registry.rollback(name, audit=ALICE).version == "1"
    with pytest.raises(UsageError, match=f"^{name} has no previous champion"):
        registry.rollback(name, audit=ALICE)
    assert registry.champion(name).version == "1"


def test_rollback_never_offers_the_version_it_left(subject, name, models):
    registry = subject.registry
    for k in (1, 2):
        register(subject, name, models, k)
    registry.promote(name, "1", expect_champion=None, audit=ALICE)
    registry.promote(name, "2", expect_champion="1", audit=ALICE)
    registry.promote(name, "1", expect_champion="2", audit=ALICE)
    # back to 2, which replaced 1 when promoted: 1 is what we just left
    assert registry.rollback(name, audit=ALICE).version == "2"
    assert registry.get(name, "1").aliases == ()
    with pytest.raises(UsageError, match="no previous champion"):
        registry.rollback(name, audit=ALICE)


def test_promote_retry_and_promoting_the_champion(subject, name, models):
    registry = subject.registry
    register(subject, name, models, 1)
    entry = registry.promote(name, "1", expect_champion=None, audit=ALICE)
    register(subject, name, models, 2)
    # the same promotion again, as a re-run workflow step would send it
    assert registry.promote(name, "1", expect_champion=None, audit=ALICE) == entry
    assert [e.action for e in registry.history(name)] == [
        "register",
        "promote",
        "register",
    ]
    with pytest.raises(UsageError, match="version 1 is already champion"):
        registry.promote(name, "1", expect_champion="1", audit=ALICE)


def test_register_is_idempotent_on_run_and_commit(subject, name, models):
    registry = subject.registry
    version, created = register(subject, name, models, 1, run="run-a")
    again, created_again = register(subject, name, models, 2, run="run-a")
    assert (created, created_again) == (True, False)
    assert again == version
    other, created_other = register(subject, name, models, 1, run="run-a", commit="b")
    assert (other.version, created_other) == ("2", True)
    actions = [(e.action, e.version) for e in registry.history(name)]
    assert actions == [("register", "1"), ("register", "2")]


def test_without_run_the_model_digest_is_the_key(subject, name, models):
    registry = subject.registry
    first, _ = registry.register(
        name, models[1], evaluation_dir=None, run_id=None, commit=SHA
    )
    same, created = registry.register(
        name, models[1], evaluation_dir=None, run_id=None, commit=SHA
    )
    assert (same.version, created) == (first.version, False)
    other, created = registry.register(
        name, models[2], evaluation_dir=None, run_id=None, commit=SHA
    )
    assert (other.version, created) == ("2", True)
    assert other.run_id is None


def test_evaluation_round_trip(subject, name, models, evaluation, tmp_path):
    registry = subject.registry
    register(subject, name, models, 1, evaluation=evaluation)
    register(subject, name, models, 2)
    folder = registry.evaluation(name, "1", tmp_path / "champion")
    assert json.loads((folder / "metrics.json").read_text()) == json.loads(
        (evaluation / "metrics.json").read_text()
    )
    stored = pd.read_parquet(folder / "predictions.parquet")
    pd.testing.assert_frame_equal(
        stored, pd.read_parquet(evaluation / "predictions.parquet")
    )
    assert registry.evaluation(name, "2", tmp_path / "none") is None


def test_champion_alias_loads(subject, name, models):
    if subject.load is None:
        pytest.skip("this backend's models are not loadable here")
    registry = subject.registry
    register(subject, name, models, 2)
    register(subject, name, models, 3)
    registry.promote(name, "1", expect_champion=None, audit=ALICE)
    registry.promote(name, "2", expect_champion="1", audit=ALICE)
    model = subject.load(f"models:/{name}@champion")
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    assert model.predict(frame)["x"].tolist() == [3.0, 6.0]


def test_unknown_names_and_versions(subject, name, models):
    registry = subject.registry
    assert registry.champion(name) is None
    with pytest.raises(UsageError, match=f"^no model named {name} in registry "):
        registry.history(name)
    with pytest.raises(UsageError, match=f"^no model named {name} in registry "):
        registry.rollback(name, audit=ALICE)
    register(subject, name, models, 1)
    with pytest.raises(UsageError, match=f"^{name} has no version 7 in registry "):
        registry.get(name, "7")
    with pytest.raises(UsageError, match=f"^{name} has no version 7 in registry "):
        registry.promote(name, "7", expect_champion=None, audit=ALICE)


@pytest.mark.parametrize("bad", ["", "a/b", "has space", "-lead", "x" * 256])
def test_bad_names_are_usage_errors(subject, models, bad):
    with pytest.raises(UsageError, match="is not valid"):
        subject.registry.register(
            bad, models[1], evaluation_dir=None, run_id="r", commit=None
        )


def test_reserved_tags_and_bad_folders(subject, name, models, tmp_path):
    registry = subject.registry
    with pytest.raises(UsageError, match="'mlops.digest': mlops.\\* and metric."):
        registry.register(
            name,
            models[1],
            evaluation_dir=None,
            run_id="r",
            commit=None,
            tags={"mlops.digest": "x"},
        )
    with pytest.raises(UsageError, match="is not an MLflow model folder"):
        registry.register(name, tmp_path, evaluation_dir=None, run_id="r", commit=None)
    with pytest.raises(UsageError, match="evaluation folder .* does not exist"):
        registry.register(
            name,
            models[1],
            evaluation_dir=tmp_path / "missing",
            run_id="r",
            commit=None,
        )


def test_download_gives_the_registered_model_files(subject, name, models, tmp_path):
    register(subject, name, models, 1)
    register(subject, name, models, 2)
    folder = subject.registry.download(name, "2", tmp_path / "got")
    assert (folder / "MLmodel").is_file()
    assert (folder / "MLmodel").read_text() == (models[2] / "MLmodel").read_text()
    with pytest.raises(UsageError):
        subject.registry.download(name, "9", tmp_path / "missing")
