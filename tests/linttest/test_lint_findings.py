"""black's and flake8's output read into findings."""

from __future__ import annotations

from mlops_actions.linttest.findings import (
    Finding,
    black_errors,
    parse_black,
    parse_flake8,
)

BLACK_CHECK = """would reformat /proj/calc.py
would reformat src/pkg/mod.py

Oh no! 💥 💔 💥
2 files would be reformatted, 1 file would be left unchanged.
"""


def test_black_would_reformat_lines():
    assert parse_black(BLACK_CHECK, "/proj") == (
        Finding("black", "calc.py", "would reformat calc.py"),
        Finding("black", "src/pkg/mod.py", "would reformat src/pkg/mod.py"),
    )
    assert parse_black("All done! ✨ 🍰 ✨\n1 file would be left unchanged.\n") == ()


def test_black_errors_old_and_new_formats():
    stderr = (
        "error: cannot format bad.py: Cannot parse for target version "
        "Python 3.11: 1:6: def f(:\n"
        "error: cannot parse: /proj/worse.py:2:4\n"
        "    x = = 1\n"
        "       ^\n"
        "ParseError: bad input\n"
        "\n"
        "Oh no! 💥 💔 💥\n"
    )
    assert black_errors(stderr, "/proj") == (
        Finding(
            "black",
            "bad.py",
            "cannot format bad.py: Cannot parse for target version Python 3.11: "
            "1:6: def f(:",
        ),
        Finding(
            "black", "worse.py", "cannot parse worse.py: ParseError: bad input", 2, 4
        ),
    )


def test_flake8_default_format():
    stdout = (
        "./calc.py:1:1: F401 'os' imported but unused\n"
        "src/a b.py:12:80: E501 line too long (90 > 88 characters)\n"
        "not a finding\n"
    )
    found = parse_flake8(stdout)
    assert found == (
        Finding("flake8", "calc.py", "F401 'os' imported but unused", 1, 1, "F401"),
        Finding(
            "flake8",
            "src/a b.py",
            "E501 line too long (90 > 88 characters)",
            12,
            80,
            "E501",
        ),
    )
    assert str(found[0]) == "calc.py:1:1: F401 'os' imported but unused"
    assert str(Finding("black", "x.py", "would reformat x.py")) == "would reformat x.py"
