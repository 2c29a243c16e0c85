"""How `make test` splits the suite over pytest-xdist workers (Makefile: PYTEST_PARALLEL).

`--dist loadfile`: a worker gets whole test files, never single tests, so a file's module fixtures (a
browser, a live box, a server) start once and its tests keep their order. `--no-loadscope-reorder` and
the hook below: files with a ``slow`` test (models, browsers, whole boxes) are handed out first, so that
the longest files do not start last while the other workers sit idle. tests/conftest.py imports the hook.

(Not `--dist loadgroup`: with pytest 9.2, xdist 3.8.0's ``xdist_group`` marks have no effect: it renames
``item._nodeid``, which pytest no longer reads, so every test would become its own unit.)
"""

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if hasattr(config, "workerinput"):  # an xdist worker: the scheduler hands out files in its order
        slow_files = {item.path for item in items if item.get_closest_marker("slow")}
        items.sort(key=lambda item: item.path not in slow_files)  # stable: each file keeps its order


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A worker sends each report to the controller as UTF-8: captured output holding a lone surrogate
    (os.fsdecode of an undecodable name, e.g. a log line about ``bad\\udcff.mp4``) would crash the worker
    (execnet: "surrogates not allowed"). Such characters travel as ``\\udcff`` escapes instead."""
    report = yield
    if hasattr(item.config, "workerinput"):
        report.sections = [(title, text.encode("utf-8", "backslashreplace").decode("utf-8"))
                           for title, text in report.sections]
    return report
