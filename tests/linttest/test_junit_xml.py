"""The JUnit XML reader on small documents: counts, failures, locations."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from mlops_actions.linttest.junit import (
    TestFailure,
    TestReport,
    TestTime,
    failure_location,
    parse_junit,
)

PYTEST_XML = """<?xml version="1.0" encoding="utf-8"?>
<testsuites name="pytest tests">
  <testsuite name="pytest" errors="1" failures="1" skipped="1" tests="5" time="1.250">
    <testcase classname="tests.test_calc" name="test_add" time="0.010" />
    <testcase classname="tests.test_calc" name="test_divide" time="0.300">
      <failure
        message="assert 0.5 == 0.25&#10; +  where 0.5 = divide(1, 2)"
      >def test_divide():
&gt;       assert divide(1, 2) == 0.25
E       assert 0.5 == 0.25

tests/test_calc.py:13: AssertionError</failure>
    </testcase>
    <testcase classname="tests.test_calc" name="test_db" time="0.020">
      <error
        message="failed on setup with &quot;OSError: no db&quot;"
      >@pytest.fixture
    def db():
&gt;       raise OSError("no db")
E       OSError: no db

tests/conftest.py:4: OSError</error>
    </testcase>
    <testcase classname="tests.test_calc" name="test_later" time="0.000">
      <skipped type="pytest.skip" message="not yet"
        >tests/test_calc.py:20: not yet</skipped>
    </testcase>
    <testcase
      classname="tests.test_calc.TestSlow" name="test_big[10-x|y]" time="0.900" />
  </testsuite>
</testsuites>
"""


def test_counts_failures_and_slowest_of_a_pytest_report():
    report = parse_junit(PYTEST_XML)
    assert report == TestReport(
        passed=2,
        failed=1,
        errors=1,
        skipped=1,
        seconds=1.25,
        failures=(
            TestFailure(
                "tests.test_calc::test_divide",
                "failure",
                "assert 0.5 == 0.25",
                "tests/test_calc.py",
                13,
            ),
            TestFailure(
                "tests.test_calc::test_db",
                "error",
                'failed on setup with "OSError: no db"',
                "tests/conftest.py",
                4,
            ),
        ),
        slowest=(
            TestTime("tests.test_calc.TestSlow::test_big[10-x|y]", 0.9),
            TestTime("tests.test_calc::test_divide", 0.3),
            TestTime("tests.test_calc::test_db", 0.02),
            TestTime("tests.test_calc::test_add", 0.01),
            TestTime("tests.test_calc::test_later", 0.0),
        ),
    )
    assert not report.ok
    assert report.describe() == "2 passed, 1 failed, 1 error, 1 skipped in 1.25s"
    assert report.failures[0].location == "tests/test_calc.py:13"


def test_testsuite_root_and_nested_suites():
    single = parse_junit(
        '<testsuite time="0.5"><testcase classname="a" name="t" time="0.5"/>'
        "</testsuite>"
    )
    assert (single.passed, single.seconds) == (1, 0.5)
    nested = parse_junit(
        "<testsuites>"
        '<testsuite name="outer" time="2">'
        '<testsuite name="inner"><testcase name="t1"><failure/></testcase></testsuite>'
        '<testcase name="t2"/>'
        "</testsuite>"
        '<testsuite time="1"><testcase name="t3"><skipped/></testcase></testsuite>'
        "</testsuites>"
    )
    assert (nested.passed, nested.failed, nested.skipped) == (1, 1, 1)
    assert nested.seconds == 3.0


def test_missing_attributes_have_safe_defaults():
    report = parse_junit(
        "<testsuites><testsuite>"
        '<testcase classname="only.class"/>'
        '<testcase name="only_name" time="not-a-number"><failure>boom'
        "</failure></testcase>"
        "</testsuite></testsuites>"
    )
    assert report.seconds == 0.0
    assert report.failures == (TestFailure("only_name", "failure", "boom"),)
    assert report.failures[0].location == ""
    assert [t.test for t in report.slowest] == ["only.class", "only_name"]
    empty = parse_junit("<testsuites/>")
    assert (empty.total, empty.ok, empty.describe()) == (
        0,
        True,
        "0 passed, 0 failed, 0 skipped in 0.00s",
    )


def test_xunit1_file_and_zero_based_line_when_the_text_has_no_frame():
    report = parse_junit(
        '<testsuite><testcase classname="t" name="x" file="tests/test_x.py" '
        'line="6"><failure message="boom">--tb=no gives no frame</failure>'
        "</testcase></testsuite>"
    )
    assert report.failures[0].location == "tests/test_x.py:7"


def test_malformed_xml_raises_parse_error():
    with pytest.raises(ET.ParseError):
        parse_junit("<testsuite><testcase>")


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "tests/test_a.py:3: in test\nsrc/calc.py:9: ZeroDivisionError",
            ("src/calc.py", 9),
        ),
        (
            "tests/test_a.py:3: in test\n"
            "/venv/lib/python3.11/site-packages/numpy/core.py:100: ValueError",
            ("tests/test_a.py", 3),
        ),
        ("/proj/tests/test_a.py:12: AssertionError", ("tests/test_a.py", 12)),
        ("/elsewhere/x.py:12: AssertionError", None),
        ("../outside.py:1: AssertionError", None),
        (".venv/lib/site-packages/lib.py:5: E", None),
        ("assert 1 == 2", None),
        ("", None),
    ],
)
def test_failure_location_is_the_last_frame_inside_the_project(text, expected):
    assert failure_location(text, "/proj") == expected
