"""cnntopo.progress: time-based progress lines and the ETA, driven by a fake clock."""

from __future__ import annotations

import pytest

from cnntopo.progress import Progress, format_duration


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_format_duration():
    assert format_duration(0) == "0s" and format_duration(59.4) == "59s"
    assert format_duration(60) == "1m00s" and format_duration(3599) == "59m59s"
    assert format_duration(3600) == "1h00m" and format_duration(86399) == "23h59m"
    assert format_duration(86400) == "1d00h" and format_duration(3 * 86400 + 7200) == "3d02h"
    assert format_duration(None) == format_duration(float("inf")) == "?"
    assert format_duration(float("nan")) == "?" and format_duration(-5) == "0s"


def test_eta_extrapolates_the_mean_time_per_step():
    clock = FakeClock()
    p = Progress(400, [].append, clock=clock)
    assert p.eta() is None  # nothing done yet
    clock.advance(50.0)
    assert p.eta(100) == pytest.approx(150.0)  # 0.5 s per step, 300 steps left
    assert p.eta(400) == 0.0 and p.eta(500) == 0.0
    # a slow stretch (an evaluation, say) raises the estimate
    clock.advance(50.0)
    assert p.eta(100) == pytest.approx(300.0)


def test_a_line_whenever_every_seconds_have_passed():
    """One step per second for 100 s: a line at 30, 60 and 90 s, none in between."""
    clock, lines = FakeClock(), []
    p = Progress(200, lines.append, every=30, clock=clock)
    written = []
    for step in range(1, 101):
        clock.advance(1.0)
        if p.update(step, {"loss": 2.0 / step}):
            written.append(step)
    assert written == [30, 60, 90] and len(lines) == 3
    # 90 steps in 90 s: 110 steps left at 1 step/s
    assert lines[-1] == "loss 0.022 | 90/200 steps (45.0%) elapsed 1m30s eta 1m50s"
    assert lines[0] == "loss 0.067 | 30/200 steps (15.0%) elapsed 30s eta 2m50s"


def test_steps_longer_than_the_interval_give_a_line_each():
    clock, lines = FakeClock(), []
    p = Progress(3, lines.append, every=30, clock=clock, unit="batches")
    for step in (1, 2, 3):
        clock.advance(45.0)
        assert p.update(step)
    assert lines == [
        "1/3 batches (33.3%) elapsed 45s eta 1m30s",
        "2/3 batches (66.7%) elapsed 1m30s eta 45s",
        "3/3 batches (100.0%) elapsed 2m15s eta 0s",
    ]


def test_metrics_are_computed_only_when_a_line_is_written():
    clock, lines, calls = FakeClock(), [], []

    def metrics():
        calls.append(clock())
        return {"loss": 1.0, "acc": 0.5}

    p = Progress(100, lines.append, every=30, clock=clock)
    for step in range(1, 61):
        clock.advance(1.0)
        p.update(step, metrics, lr=0.1, epoch=2)
    assert len(calls) == len(lines) == 2
    assert lines[0].startswith("loss 1.000 acc 0.500 lr 0.100 epoch 2 | 30/100 steps")


def test_a_line_written_by_the_caller_restarts_the_interval():
    clock, lines = FakeClock(), []
    p = Progress(100, lines.append, every=30, clock=clock)
    clock.advance(25.0)
    assert not p.update(10)
    p.logged()  # e.g. the end-of-epoch line
    clock.advance(25.0)
    assert not p.update(20) and not p.due()
    clock.advance(5.0)
    assert p.due() and p.update(21) and len(lines) == 1


def test_every_zero_writes_a_line_per_update():
    clock, lines = FakeClock(), []
    p = Progress(5, lines.append, every=0, clock=clock)
    for step in range(1, 6):
        assert p.update(step)
    assert len(lines) == 5 and lines[-1].startswith("5/5 steps (100.0%)")
    # no time passed: the ETA is 0, not a division by zero
    assert lines[0].endswith("eta 0s")


@pytest.mark.parametrize(
    ("total", "every"), [(0, 30.0), (-1, 30.0), (2.5, 30.0), (True, 30.0), (10, -1.0)]
)
def test_invalid_arguments(total, every):
    with pytest.raises(ValueError, match="total must be|every must be"):
        Progress(total, print, every=every)


def test_progress_lines_logs_to_the_cnntopo_logger_with_the_module_clock(monkeypatch, caplog):
    import itertools

    import cnntopo.progress as progress

    monkeypatch.setattr(progress, "_clock", itertools.count(0.0, 31.0).__next__)
    caplog.set_level("INFO", logger="cnntopo")
    lines = progress.progress_lines(4, "resamples")
    for done in range(1, 5):
        assert lines.update(done)  # 31 s per reading: every update is due
    messages = [r.getMessage() for r in caplog.records if r.name == "cnntopo"]
    assert len(messages) == 4
    assert messages[0].startswith("1/4 resamples (25.0%) elapsed ")
    assert all(" eta " in m and not m.endswith("eta ?") for m in messages)
    assert messages[-1].startswith("4/4 resamples (100.0%)") and messages[-1].endswith("eta 0s")
    assert progress.progress_lines(0, "pairs").total == 1  # an empty loop does not fail
