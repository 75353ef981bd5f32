"""Atomic writers leave either the complete file or nothing, and no temporary file survives.

A write that raises (Ctrl-C, and SIGTERM through the job handler) removes its
temporary file; one that a SIGKILL left is removed by the next write of its target;
``weights.pt`` holds the same bytes for the same tensors.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from cnntopo import artifacts
from conftest import REPO


def test_write_then_read(tmp_path):
    artifacts.write_json(
        tmp_path / "a" / "x.json", {"a": np.int64(3), "b": np.arange(3), "c": np.float32(0.5)}
    )
    assert artifacts.read_json(tmp_path / "a" / "x.json") == {"a": 3, "b": [0, 1, 2], "c": 0.5}
    artifacts.write_npz(tmp_path / "y.npz", m=np.eye(2))
    with np.load(tmp_path / "y.npz") as z:
        assert np.array_equal(z["m"], np.eye(2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "y.npz"]


def test_failure_leaves_nothing_and_keeps_old_file(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError), artifacts.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []
    artifacts.write_text(target, "complete")
    with pytest.raises(RuntimeError), artifacts.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "complete" and list(tmp_path.iterdir()) == [target]


def test_atomic_folder_replaces_whole_or_leaves_the_old_one(tmp_path):
    target = tmp_path / "details"
    with artifacts.atomic_folder(target) as tmp:
        (tmp / "a.js").write_text("1")
        (tmp / "b.js").write_text("2")
        assert not target.exists()  # nothing at the target until the block succeeds
    assert sorted(p.name for p in target.iterdir()) == ["a.js", "b.js"]
    with pytest.raises(KeyboardInterrupt), artifacts.atomic_folder(target) as tmp:
        (tmp / "c.js").write_text("half")
        raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["details"]  # no temp folder left
    assert sorted(p.name for p in target.iterdir()) == ["a.js", "b.js"]
    # a folder a SIGKILLed writer left is removed by the next write; the new one replaces
    # the old folder whole (b.js is gone)
    stale = tmp_path / ".details.0badc0de.tmp"
    stale.mkdir()
    (stale / "x").write_text("stale")
    assert artifacts.temporary_files(target, "") == [stale]
    with artifacts.atomic_folder(target) as tmp:
        (tmp / "a.js").write_text("3")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["details"]
    assert [p.name for p in target.iterdir()] == ["a.js"] and (target / "a.js").read_text() == "3"


def test_written_files_get_the_usual_permissions(tmp_path):
    import os

    artifacts.write_text(tmp_path / "a.txt", "x")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o666 & ~mask


# --------------------------------------------------------------------------- temporaries


def _touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def test_temporary_files_name_only_the_targets_own(tmp_path):
    target = tmp_path / "figures" / "seed1.pdf"
    own = [
        _touch(tmp_path / "figures" / ".seed1.pdf.k_3x9q2a.pdf.tmp"),  # tempfile.mkstemp's
        _touch(tmp_path / "figures" / ".seed1.pdf.0a1b2c3d.pdf.tmp"),  # today's hex
    ]
    others = [
        _touch(tmp_path / "figures" / ".seed10.pdf.0a1b2c3d.pdf.tmp"),  # seed10.pdf
        _touch(tmp_path / "figures" / ".seed1.pdf.gz.0a1b2c3d.gz.tmp"),  # seed1.pdf.gz
        _touch(tmp_path / "figures" / ".seed1.png.0a1b2c3d.png.tmp"),  # seed1.png
        _touch(tmp_path / "figures" / ".seed1.pdf.0a1b2c3.pdf.tmp"),  # 7 characters
        _touch(tmp_path / "figures" / "seed1.pdf.0a1b2c3d.pdf.tmp"),  # not hidden
        _touch(tmp_path / "figures" / ".seed1.pdf.0a1b2c3d.pdf"),  # no .tmp
        _touch(tmp_path / "other" / ".seed1.pdf.0a1b2c3d.pdf.tmp"),  # another folder
    ]
    assert artifacts.temporary_files(target) == sorted(own)
    assert artifacts.temporary_files(tmp_path / "missing" / "seed1.pdf") == []
    # the write removes the stale ones of its target, and only those
    artifacts.write_bytes(target, b"%PDF-1.4 complete")
    assert target.read_bytes() == b"%PDF-1.4 complete"
    assert not any(p.exists() for p in own) and all(p.exists() for p in others)
    assert artifacts.temporary_files(target) == []


def test_the_temporary_file_is_named_for_its_target_and_suffix(tmp_path):
    target = tmp_path / "diagrams" / "conv1.npz"
    with artifacts.atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp.stat().st_size == 0
        assert artifacts.temporary_files(target) == [tmp]
        name = tmp.name
        assert name.startswith(".conv1.npz.") and name.endswith(".npz.tmp"), name
        assert len(name) == len(".conv1.npz.") + 8 + len(".npz.tmp")
        tmp.write_bytes(b"x")
    with artifacts.atomic_path(target, suffix="") as tmp:
        assert tmp.name.endswith(".tmp") and not tmp.name.endswith(".npz.tmp")
        assert artifacts.temporary_files(target, suffix="") == [tmp]
        tmp.write_bytes(b"y")
    assert target.read_bytes() == b"y" and artifacts.temporary_files(target) == []


WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from cnntopo import artifacts
    if sys.argv[2] == "job":
        from cnntopo.logs import setup_job_logging
        setup_job_logging(None)
    with artifacts.atomic_path(sys.argv[1]) as tmp:
        tmp.write_bytes(b"%PDF-half")
        print(tmp, flush=True)
        time.sleep(60)
    """
)


def _writer(target, mode):
    """A process inside ``atomic_path(target)``; returns it and its temporary file."""
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(target), mode],
        env={**os.environ, "PYTHONPATH": str(REPO / "workflow")},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    tmp = Path(proc.stdout.readline().strip())
    assert tmp.is_file(), proc.stderr.read()
    return proc, tmp


def test_a_sigkilled_writer_leaves_a_temporary_file_that_the_next_write_removes(tmp_path):
    target = tmp_path / "figures" / "diagrams" / "seed1.pdf"
    proc, tmp = _writer(target, "job")
    proc.send_signal(signal.SIGKILL)  # nothing runs: no handler, no finally
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert tmp.read_bytes() == b"%PDF-half" and not target.exists()
    assert artifacts.temporary_files(target) == [tmp]
    artifacts.write_bytes(target, b"%PDF-1.4 complete")  # the rerun of the job
    assert not tmp.exists() and list(target.parent.iterdir()) == [target]


def test_sigterm_removes_the_temporary_file_of_a_job(tmp_path):
    target = tmp_path / "seed1.pdf"
    proc, tmp = _writer(target, "job")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "received SIGTERM" in err
    assert list(tmp_path.iterdir()) == []


def test_without_the_job_handler_sigterm_leaves_the_temporary_file(tmp_path):
    """Python's default for SIGTERM skips every finally block (why the handler exists)."""
    target = tmp_path / "seed1.pdf"
    proc, tmp = _writer(target, "plain")
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGTERM
    assert tmp.exists() and not target.exists()


def test_a_forked_child_does_not_run_the_parents_cleanup(tmp_path):
    """SIGTERM in a child forked inside the parent's atomic write ends only the child."""
    script = textwrap.dedent(
        """
        import os, signal, sys
        from cnntopo import artifacts
        from cnntopo.logs import install_termination_handlers
        assert install_termination_handlers() == [signal.SIGTERM, signal.SIGHUP]
        with artifacts.atomic_path(sys.argv[1]) as tmp:
            tmp.write_bytes(b"complete")
            pid = os.fork()
            if pid == 0:
                os.kill(os.getpid(), signal.SIGTERM)
                os._exit(7)  # not reached: the signal's default action ends the child
            _, status = os.waitpid(pid, 0)
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM, status
            assert tmp.exists()
        print("ok")
        """
    )
    target = tmp_path / "out.bin"
    proc = subprocess.run(
        [sys.executable, "-c", script, str(target)],
        env={**os.environ, "PYTHONPATH": str(REPO / "workflow")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0 and proc.stdout == "ok\n", proc.stderr
    assert target.read_bytes() == b"complete" and list(tmp_path.iterdir()) == [target]


def test_an_ignored_sighup_stays_ignored():
    script = textwrap.dedent(
        """
        import signal
        from cnntopo.logs import install_termination_handlers
        signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as under nohup
        assert install_termination_handlers() == [signal.SIGTERM]
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": str(REPO / "workflow")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr


# --------------------------------------------------------------------------- weights.pt


def test_weights_are_the_same_bytes_for_the_same_tensors(tmp_path):
    torch = pytest.importorskip("torch")
    from cnntopo.stages.common import save_weights

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    twin = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    twin.load_state_dict(model.state_dict())  # equal tensors, other objects
    a, b = tmp_path / "seed0" / "weights.pt", tmp_path / "seed1" / "weights.pt"
    save_weights(model, a)
    save_weights(twin, b)
    assert a.read_bytes() == b.read_bytes()
    save_weights(model, a)  # a rerun of the job: another random temporary name
    assert a.read_bytes() == b.read_bytes()
    state = torch.load(a, weights_only=True)
    assert state.keys() == model.state_dict().keys()
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    assert artifacts.temporary_files(a) == []
    # the premise: torch.save to a path names the archive's folder after the file
    torch.save(model.state_dict(), tmp_path / "x.pt")
    torch.save(model.state_dict(), tmp_path / "y.pt")
    assert (tmp_path / "x.pt").read_bytes() != (tmp_path / "y.pt").read_bytes()
    # and the bytes follow the tensors
    with torch.no_grad():
        twin[0].weight[0, 0, 0, 0] += 1.0
    save_weights(twin, b)
    assert a.read_bytes() != b.read_bytes()
