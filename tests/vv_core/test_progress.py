"""vv_core.progress: JSON progress lines off a terminal (throttled, plus a final one), a rich bar on one."""

import io
import logging

import pytest

from vv_core.progress import progress


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def records(caplog):
    caplog.set_level(logging.INFO, logger="vv.progress")
    return lambda: [r for r in caplog.records if r.name == "vv.progress"]


def test_off_a_terminal_it_logs_every_interval_and_once_at_the_end(records):
    clock = Clock()
    with progress("scan a.mp4", total=60, unit="s", interval_s=10, stream=io.StringIO(), clock=clock) as task:
        for second in range(1, 61):
            clock.now += 1
            task.update(second)
    lines = records()
    assert [r.done for r in lines] == [10, 20, 30, 40, 50, 60, 60]      # every 10 s, then the final line
    assert [r.percent for r in lines][:2] == [16.7, 33.3]
    assert lines[-1].finished is True and lines[-1].total == 60 and lines[-1].unit == "s"
    assert lines[-1].elapsed_s == 60 and lines[-1].task == "scan a.mp4"


def test_no_work_means_no_line(records):
    with progress("orchestrate", total=None, stream=io.StringIO(), clock=Clock()):
        pass
    assert records() == []


def test_a_failing_block_still_reports_how_far_it_got(records):
    clock = Clock()
    with pytest.raises(RuntimeError), progress("backup", total=4, stream=io.StringIO(), clock=clock) as task:
        task.advance()
        raise RuntimeError("disk full")
    assert [(r.done, r.finished) for r in records()] == [(1, True)]


def test_on_a_terminal_it_draws_a_bar_and_logs_nothing(records):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    with progress("scan b.mp4", total=10, unit="s", stream=screen) as task:
        task.update(5)
        task.update(10)
    assert "scan b.mp4" in screen.getvalue() and "100%" in screen.getvalue()
    assert records() == []
