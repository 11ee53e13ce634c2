"""Tests for mlops_actions.gha: what the Actions runner would read back."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlops_actions import gha


def parse_output_file(text: str) -> list[tuple[str, str]]:
    """Read a $GITHUB_OUTPUT file the way the Linux runner does.

    A port of actions/runner's FileCommandManager: lines split at LF; a line
    ``NAME=VALUE`` or ``NAME<<DELIM`` whose value runs up to the LF before the
    first line equal to DELIM. Returns every pair in order, so a forged or
    repeated key shows up.
    """
    pairs: list[tuple[str, str]] = []
    index = 0

    def read_line() -> str | None:
        nonlocal index
        if index >= len(text):
            return None
        start, lf = index, text.find("\n", index)
        if lf < 0:
            index = len(text)
            return text[start:]
        index = lf + 1
        return text[start:lf]

    line = read_line()
    while line is not None:
        if line:
            eq, heredoc = line.find("="), line.find("<<")
            if eq >= 0 and (heredoc < 0 or eq < heredoc):
                name, value = line.split("=", 1)
                pairs.append((name, value))
            elif heredoc >= 0:
                name, delimiter = line.split("<<", 1)
                assert name and delimiter, f"invalid format {line!r}"
                start = end = index
                body = read_line()
                while body != delimiter:
                    assert body is not None, f"delimiter {delimiter!r} not found"
                    assert text[index - 1] == "\n", "value line without LF"
                    end = index - 1
                    body = read_line()
                pairs.append((name, text[start:end] if end > start else ""))
            else:
                raise AssertionError(f"invalid format {line!r}")
        line = read_line()
    return pairs


def actions_env(tmp_path: Path) -> dict[str, str]:
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
    }


def read_outputs(env: dict[str, str]) -> list[tuple[str, str]]:
    return parse_output_file(Path(env["GITHUB_OUTPUT"]).read_bytes().decode("utf-8"))


HOSTILE = [
    "plain",
    "",
    "\n",
    "line\nother=injected",
    "line\nother<<EOF\nx\nEOF",
    "x\nghadelimiter_0123456789abcdef\nevil=1",
    "::set-output name=x::y",
    "first\n::set-output name=x::y\n",
    "tr\u00e8s \u2713 \U0001f600 \u2028 \x85 end",
    "crlf\r\nbare cr\rend\r",
    "trailing newline\n",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_output_round_trips_hostile_value(tmp_path: Path, value: str) -> None:
    env = actions_env(tmp_path)
    assert gha.set_output("result", value, environ=env) is True
    assert read_outputs(env) == [("result", value)]


def test_outputs_append_in_order_and_convert_values(tmp_path: Path) -> None:
    env = actions_env(tmp_path)
    gha.set_output("passed", True, environ=env)
    gha.set_outputs({"failed": False, "version": 3, "score": 0.5}, environ=env)
    assert read_outputs(env) == [
        ("passed", "true"),
        ("failed", "false"),
        ("version", "3"),
        ("score", "0.5"),
    ]


def test_delimiter_found_in_value_is_drawn_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    draws = iter(["aaaa", "bbbb"])
    monkeypatch.setattr(gha.secrets, "token_hex", lambda n: next(draws))
    env = actions_env(tmp_path)
    value = "x\nghadelimiter_aaaa\nevil=1"
    gha.set_output("result", value, environ=env)
    text = Path(env["GITHUB_OUTPUT"]).read_bytes().decode("utf-8")
    assert text == f"result<<ghadelimiter_bbbb\n{value}\nghadelimiter_bbbb\n"
    assert parse_output_file(text) == [("result", value)]


def test_delimiter_is_random_per_value(tmp_path: Path) -> None:
    env = actions_env(tmp_path)
    gha.set_outputs({"a": "1", "b": "2"}, environ=env)
    lines = Path(env["GITHUB_OUTPUT"]).read_bytes().decode("utf-8").splitlines()
    delimiters = {line.split("<<")[1] for line in lines if "<<" in line}
    assert len(delimiters) == 2
    assert all(d.startswith("ghadelimiter_") and len(d) > 30 for d in delimiters)


@pytest.mark.parametrize(
    "name",
    ["", "1abc", "-x", "a b", "a=b", "a<<b", "a\nb", "a:b", "x\n", "é", "a.b"],
)
def test_invalid_output_name_is_refused(tmp_path: Path, name: str) -> None:
    env = actions_env(tmp_path)
    with pytest.raises(ValueError, match="invalid output name"):
        gha.set_outputs({"ok": "1", name: "v"}, environ=env)
    assert not Path(env["GITHUB_OUTPUT"]).exists()
    with pytest.raises(ValueError):
        gha.set_output(name, "v", environ={})


@pytest.mark.parametrize("name", ["a", "_", "A_b-9", "model-uri"])
def test_valid_output_names(tmp_path: Path, name: str) -> None:
    env = actions_env(tmp_path)
    assert gha.set_output(name, "v", environ=env)
    assert read_outputs(env) == [(name, "v")]


@given(
    name=st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,20}", fullmatch=True),
    value=st.text(),
)
def test_any_text_value_round_trips(
    tmp_path_factory: pytest.TempPathFactory, name: str, value: str
) -> None:
    env = actions_env(tmp_path_factory.mktemp("out"))
    gha.set_output(name, value, environ=env)
    assert read_outputs(env) == [(name, value)]


@pytest.mark.parametrize(
    "environ",
    [{}, {"GITHUB_ACTIONS": "false"}, {"GITHUB_ACTIONS": "1"}, {"CI": "true"}],
)
def test_inert_outside_actions(tmp_path: Path, environ: dict[str, str]) -> None:
    files = {k: v for k, v in actions_env(tmp_path).items() if k != "GITHUB_ACTIONS"}
    env = {**files, **environ}
    out = io.StringIO()
    assert gha.in_actions(env) is False
    assert gha.set_output("a", "1", environ=env) is False
    assert gha.set_outputs({"a": "1"}, environ=env) is False
    assert gha.append_summary("# hi", environ=env) is False
    gha.error("e", file="f", line=1, stream=out, environ=env)
    gha.warning("w", stream=out, environ=env)
    gha.notice("n", stream=out, environ=env)
    gha.add_mask("secret", stream=out, environ=env)
    with gha.group("g", stream=out, environ=env):
        pass
    assert out.getvalue() == ""
    assert list(tmp_path.iterdir()) == []


def test_missing_output_file_variable_inside_actions() -> None:
    env = {"GITHUB_ACTIONS": "true"}
    assert gha.in_actions(env) is True
    assert gha.set_output("a", "1", environ=env) is False
    assert gha.append_summary("x", environ=env) is False


def test_summary_appends(tmp_path: Path) -> None:
    env = actions_env(tmp_path)
    assert gha.append_summary("## Gate\n\npassed", environ=env) is True
    assert gha.append_summary("| a | b |\n", environ=env) is True
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_bytes().decode("utf-8")
    assert summary == "## Gate\n\npassed\n| a | b |\n"


def emitted(func, *args, **kwargs) -> str:
    out = io.StringIO()
    func(*args, stream=out, environ={"GITHUB_ACTIONS": "true"}, **kwargs)
    return out.getvalue()


def test_annotation_all_properties_in_githubs_order() -> None:
    line = emitted(
        gha.error,
        "bad",
        file="src/a.py",
        line=3,
        col=5,
        end_line=4,
        end_column=9,
        title="T",
    )
    assert (
        line
        == "::error file=src/a.py,line=3,endLine=4,col=5,endColumn=9,title=T::bad\n"
    )


def test_annotation_without_properties() -> None:
    assert emitted(gha.warning, "careful") == "::warning::careful\n"
    assert emitted(gha.notice, "fyi", line=7) == "::notice line=7::fyi\n"


def test_annotation_escaping_exact() -> None:
    line = emitted(
        gha.error,
        "100% of a,b\r\nnext :: end",
        file="dir:x,y%.py",
        title="acc::top-1, 5%\nnew",
    )
    assert line == (
        "::error file=dir%3Ax%2Cy%25.py,title=acc%3A%3Atop-1%2C 5%25%0Anew"
        "::100%25 of a,b%0D%0Anext :: end\n"
    )


def test_forged_command_in_message_stays_on_one_line() -> None:
    line = emitted(gha.error, "x\n::set-output name=x::y")
    assert line == "::error::x%0A::set-output name=x::y\n"
    assert line.count("\n") == 1


def unescape(value: str, property: bool) -> str:
    # The runner's order: its escape table minus '%', then '%25' last.
    pairs = [("%0D", "\r"), ("%0A", "\n")]
    if property:
        pairs += [("%3A", ":"), ("%2C", ",")]
    for escaped, raw in pairs + [("%25", "%")]:
        value = value.replace(escaped, raw)
    return value


def parse_command(line: str) -> tuple[str, dict[str, str], str]:
    """Split a command line as actions/runner's ActionCommand.TryParseV2 does."""
    assert line.startswith("::") and line.endswith("\n")
    body = line[2:-1]
    info, data = body.split("::", 1)
    command, _, props = info.partition(" ")
    properties = {}
    for pair in filter(None, props.split(",")):
        key, value = pair.split("=", 1)
        properties[key] = unescape(value, property=True)
    return command, properties, unescape(data, property=False)


@given(message=st.text(), file=st.text(min_size=1), title=st.text(min_size=1))
def test_annotation_parses_back_exactly(message: str, file: str, title: str) -> None:
    line = emitted(gha.notice, message, file=file, line=1, title=title)
    assert line.count("\n") == 1 and "\r" not in line
    assert parse_command(line) == (
        "notice",
        {"file": file, "line": "1", "title": title},
        message,
    )


def test_add_mask_single_and_escaped() -> None:
    assert emitted(gha.add_mask, "s3cr%t") == "::add-mask::s3cr%25t\n"


def test_add_mask_multi_line_masks_each_line() -> None:
    key = "-----BEGIN KEY-----\nabc\r\n\ndef\rghi\n"
    assert emitted(gha.add_mask, key) == (
        "::add-mask::-----BEGIN KEY-----\n"
        "::add-mask::abc\n"
        "::add-mask::def\n"
        "::add-mask::ghi\n"
    )


@pytest.mark.parametrize("value", ["", "\n", "\r\n\n"])
def test_add_mask_skips_empty(value: str) -> None:
    assert emitted(gha.add_mask, value) == ""


def test_group_wraps_block_even_on_error() -> None:
    out = io.StringIO()
    env = {"GITHUB_ACTIONS": "true"}
    with pytest.raises(RuntimeError):
        with gha.group("Train: fold 1\n", stream=out, environ=env):
            out.write("inside\n")
            raise RuntimeError
    assert out.getvalue() == "::group::Train: fold 1%0A\ninside\n::endgroup::\n"


def test_prints_to_stdout_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    gha.notice("hello", environ={"GITHUB_ACTIONS": "true"})
    assert capsys.readouterr().out == "::notice::hello\n"


def test_escape_helpers() -> None:
    raw = "a%b\rc\nd:e,f"
    assert gha.escape_command_data(raw) == "a%25b%0Dc%0Ad:e,f"
    assert gha.escape_command_property(raw) == "a%25b%0Dc%0Ad%3Ae%2Cf"
