"""The suite's own rules (``tests/conftest.py``): in CI (``CI`` set) a skipped test fails the run,
naming the test and the reason; a test marked ``postgres_only`` or ``sqlite_only`` is generated for
its backend alone, so a full run skips nothing. Each case runs a small pytest session in a
subprocess with ``tests/conftest.py`` loaded as a plugin. And a browser test without its browser
fails with the command that installs it, with or without CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dialer.settings import REPO_ROOT

SKIPPING = '''
import pytest


@pytest.fixture
def browser():
    pytest.skip("/usr/bin/chromium is missing")


def test_passes():
    pass


def test_needs_a_browser(browser):
    pass


@pytest.mark.skip(reason="not written yet")
def test_marked_skip():
    pass


@pytest.mark.xfail(reason="a known bug", strict=True)
def test_known_bug():
    assert False
'''

SKIPPING_MODULE = '''
import pytest

pytest.skip("no tool for this module", allow_module_level=True)


def test_never_collected():
    pass
'''

BACKEND_ONLY = '''
import pytest


def test_on_both(backend):
    pass


@pytest.mark.postgres_only
def test_on_postgres(backend):
    pass


@pytest.mark.sqlite_only
def test_on_sqlite(backend):
    pass
'''

INI = """[pytest]
markers =
    sqlite_only: runs on the SQLite backend only
    postgres_only: runs on the PostgreSQL backend only
"""


def run_pytest(tmp_path: Path, source: str, *args: str, ci: bool = False,
               backends: str = "sqlite,postgres") -> subprocess.CompletedProcess[str]:
    """Run pytest on ``source`` (as ``test_sample.py``) in ``tmp_path``, with or without ``CI``."""
    (tmp_path / "pytest.ini").write_text(INI)
    (tmp_path / "test_sample.py").write_text(source)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env["DIALER_TEST_BACKENDS"] = backends
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider", "-ra",
         "-o", "addopts=", *args, "test_sample.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )


def test_given_ci_when_a_test_skips_then_the_run_fails_naming_the_test_and_the_reason(tmp_path):
    run = run_pytest(tmp_path, SKIPPING, ci=True)
    assert run.returncode == 1, run.stdout + run.stderr
    assert ("test_sample.py::test_needs_a_browser - Failed: skipped, which fails the run when CI is set: "
            "/usr/bin/chromium is missing") in run.stdout, run.stdout
    assert ("test_sample.py::test_marked_skip - Failed: skipped, which fails the run when CI is set: "
            "not written yet") in run.stdout, run.stdout
    assert "skipped tests, failed because CI is set" in run.stdout, run.stdout  # listed again, in full
    assert "skipped" not in run.stdout.splitlines()[-1]  # the summary line: failures, not skips
    assert "1 passed" in run.stdout and "1 xfailed" in run.stdout  # an expected failure is no skip


def test_given_ci_when_a_module_skips_at_collection_then_the_run_fails_naming_it(tmp_path):
    run = run_pytest(tmp_path, SKIPPING_MODULE, ci=True)
    assert run.returncode != 0, run.stdout + run.stderr
    assert "test_sample.py" in run.stdout and "no tool for this module" in run.stdout, run.stdout


def test_given_no_ci_when_a_test_skips_then_it_is_reported_as_skipped(tmp_path):
    run = run_pytest(tmp_path, SKIPPING)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed, 2 skipped, 1 xfailed" in run.stdout, run.stdout


def test_given_backend_only_tests_then_each_is_generated_for_its_backend_alone(tmp_path):
    run = run_pytest(tmp_path, BACKEND_ONLY, "--collect-only", "-q")
    assert run.returncode == 0, run.stdout + run.stderr
    assert [line for line in run.stdout.splitlines() if "::" in line] == [
        "test_sample.py::test_on_both[sqlite]",
        "test_sample.py::test_on_both[postgres]",
        "test_sample.py::test_on_postgres[postgres]",
        "test_sample.py::test_on_sqlite[sqlite]",
    ]


def test_given_one_backend_then_a_test_only_for_the_other_is_deselected_not_skipped(tmp_path):
    run = run_pytest(tmp_path, BACKEND_ONLY, "--collect-only", "-q", backends="sqlite")
    assert run.returncode == 0, run.stdout + run.stderr
    assert [line for line in run.stdout.splitlines() if "::" in line] == [
        "test_sample.py::test_on_both[sqlite]",
        "test_sample.py::test_on_sqlite[sqlite]",
    ]
    assert "(1 deselected)" in run.stdout and "skipped" not in run.stdout, run.stdout


def test_given_no_chromium_then_a_browser_test_fails_with_the_install_command():
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    env.update(DIALER_TEST_CHROMIUM="/nonexistent/chromium", DIALER_TEST_BACKENDS="sqlite")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "tests/desktop/test_messages.py"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "/nonexistent/chromium is missing: install it with `sudo apt-get install -y chromium fonts-noto-cjk`" \
        in run.stdout, run.stdout
    assert "skipped" not in run.stdout, run.stdout
