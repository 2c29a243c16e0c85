"""`make test`'s split of the suite over xdist workers (Makefile PYTEST_PARALLEL, tests/parallel.py), run
on a small suite of its own."""

import re

import pytest

from tests.helpers import REPO_ROOT

pytest_plugins = ["pytester"]

# Each test notes which worker ran it, in run order.
RECORD = """
import os, pytest
from tests.parallel import pytest_collection_modifyitems  # noqa: F401

@pytest.fixture(autouse=True)
def record(request):
    with open(os.environ["RUN_LOG"], "a") as log:
        log.write(f"{os.environ['PYTEST_XDIST_WORKER']} {request.node.path.name} {request.node.name}\\n")
"""


def make_test_flags() -> list[str]:
    """What the Makefile adds to pytest after `-n N` (make test, make test-clock-ahead)."""
    found = re.search(r"-n \$\(PYTEST_WORKERS\) ([^)]+)\)", (REPO_ROOT / "Makefile").read_text())
    assert found, "PYTEST_PARALLEL not found in the Makefile"
    return found.group(1).split()


@pytest.fixture
def run_suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))
    monkeypatch.setenv("RUN_LOG", str(pytester.path / "run.log"))
    pytester.makeini("[pytest]\nmarkers =\n    slow: slow\n")
    pytester.makeconftest(RECORD)

    def run(workers: int) -> list[tuple[str, str, str]]:
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", str(workers), *make_test_flags())
        assert result.ret == 0, result.stdout.str()
        return [tuple(line.split()) for line in (pytester.path / "run.log").read_text().splitlines()]

    return run


def test_each_file_runs_whole_on_one_worker(pytester, run_suite):
    many = "".join(f"def test_{n}():\n    pass\n" for n in range(6))
    pytester.makepyfile(test_a=many, test_b=many, test_c=many)
    runs = run_suite(workers=2)
    assert len(runs) == 18
    workers_of = {name: {worker for worker, file, _ in runs if file == name}
                  for name in ("test_a.py", "test_b.py", "test_c.py")}
    assert all(len(workers) == 1 for workers in workers_of.values()), workers_of
    assert len({worker for worker, _, _ in runs}) == 2   # and both workers had work


def test_files_with_a_slow_test_are_handed_out_first_and_keep_their_order(pytester, run_suite):
    pytester.makepyfile(test_a="def test_first():\n    pass\n",
                        test_b="def test_second():\n    pass\n\ndef test_third():\n    pass\n",
                        test_z="import pytest\n\ndef test_quick():\n    pass\n\n"
                               "@pytest.mark.slow\ndef test_slow():\n    pass\n")
    runs = run_suite(workers=1)
    assert [(file, name) for _, file, name in runs] == [
        ("test_z.py", "test_quick"), ("test_z.py", "test_slow"), ("test_a.py", "test_first"),
        ("test_b.py", "test_second"), ("test_b.py", "test_third")]

