"""`mlops scorer bundle`: the old name of `mlops image bundle`, for one release."""

from __future__ import annotations

import json

import pytest

from tests.image.conftest import FIXTURE_MODEL

SHA = "0123456789abcdef0123456789abcdef01234567"
WARNING = (
    "DeprecationWarning: The command 'bundle' is deprecated. "
    "Use `mlops image bundle`.\n"
)


def _bundle(mlops, argv: list[str], out, wheel):
    return mlops(
        *argv,
        str(FIXTURE_MODEL),
        "--out",
        str(out),
        "--name",
        "penguins",
        "--version",
        "3",
        "--commit",
        SHA,
        "--mlops-wheel",
        str(wheel),
    )


def test_old_name_writes_what_the_new_one_does(
    mlops, toolkit_wheel, tmp_path, monkeypatch
):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # the same created time
    new = _bundle(mlops, ["image", "bundle"], tmp_path / "new", toolkit_wheel)
    old = _bundle(mlops, ["scorer", "bundle"], tmp_path / "old", toolkit_wheel)
    assert (new.code, old.code) == (0, 0), old.err
    assert old.out == new.out.replace(str(tmp_path / "new"), str(tmp_path / "old"))
    assert new.err == ""
    assert old.err == WARNING
    for name in ("Dockerfile", "requirements.txt"):
        assert (tmp_path / "old" / name).read_text() == (
            tmp_path / "new" / name
        ).read_text()
    records = [
        json.loads((tmp_path / d / "bundle.json").read_text()) for d in ("new", "old")
    ]
    assert records[1] == records[0]


def test_old_name_help_says_deprecated_and_names_the_new_one(mlops):
    listing = mlops("scorer", "--help")
    assert listing.code == 0
    assert "bundle  Old name of `mlops image bundle`, for one release. (DEPRECATED" in (
        listing.out
    )
    result = mlops("scorer", "bundle", "--help")
    assert result.code == 0
    assert "Deprecated: use `mlops image bundle` (same options, same outputs)" in (
        " ".join(result.out.split())
    )
    new_help = mlops("image", "bundle", "--help").out
    for option in ("--out", "--name", "--wheels", "--mlops-wheel", "--tracking-uri"):
        assert option in result.out and option in new_help


@pytest.mark.parametrize("prefix", ["MLOPS_IMAGE_BUNDLE_", "MLOPS_SCORER_BUNDLE_"])
@pytest.mark.parametrize("argv", [["image", "bundle"], ["scorer", "bundle"]])
def test_both_names_read_both_env_prefixes(
    mlops, toolkit_wheel, tmp_path, monkeypatch, prefix, argv
):
    out = tmp_path / "bundle"
    monkeypatch.setenv(f"{prefix}OUT", str(out))
    monkeypatch.setenv(f"{prefix}VERSION", "7")
    monkeypatch.setenv(f"{prefix}MLOPS_WHEEL", str(toolkit_wheel))
    result = mlops(*argv, str(FIXTURE_MODEL), "--name", "penguins")
    assert result.code == 0, result.err
    assert result.out.startswith("bundled penguins version 7 ")
    assert json.loads((out / "bundle.json").read_text())["model"]["version"] == "7"


def test_new_env_name_wins_over_the_old(mlops, toolkit_wheel, tmp_path, monkeypatch):
    monkeypatch.setenv("MLOPS_IMAGE_BUNDLE_OUT", str(tmp_path / "new"))
    monkeypatch.setenv("MLOPS_SCORER_BUNDLE_OUT", str(tmp_path / "old"))
    result = mlops(
        "image",
        "bundle",
        str(FIXTURE_MODEL),
        "--mlops-wheel",
        str(toolkit_wheel),
    )
    assert result.code == 0, result.err
    assert (tmp_path / "new" / "bundle.json").is_file()
    assert not (tmp_path / "old").exists()
