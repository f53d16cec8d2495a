import pytest

from shancheng.data.staged import staged_directory
from shancheng.errors import InputError


def _tree(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_success_replaces_the_folder_whole(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "summary.json").write_text("old")
    (target / "stale.csv").write_text("gone after the swap")
    with staged_directory(target, marker="summary.json", what="results") as staging:
        (staging / "summary.json").write_text("new")
    assert _tree(target) == {"summary.json": b"new"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging or .old left


def test_a_failed_write_leaves_the_previous_folder_as_it_was(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "summary.json").write_text("old")
    before = _tree(target)
    with pytest.raises(RuntimeError, match="boom"):  # noqa: PT012 - the failure is mid-write
        with staged_directory(target, marker="summary.json", what="results") as staging:
            (staging / "summary.json").write_text("half")
            raise RuntimeError("boom")
    assert _tree(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_failed_swap_puts_the_old_folder_back(tmp_path, monkeypatch):
    target = tmp_path / "out"
    target.mkdir()
    (target / "summary.json").write_text("old")
    real_rename = type(target).rename

    def rename(self, destination):
        if self.name.endswith(".tmp"):  # the staging folder cannot move into place
            raise OSError("disk full")
        return real_rename(self, destination)

    monkeypatch.setattr(type(target), "rename", rename)
    with pytest.raises(OSError, match="disk full"):
        with staged_directory(target, marker="summary.json", what="results") as staging:
            (staging / "summary.json").write_text("new")
    monkeypatch.undo()
    assert _tree(target) == {"summary.json": b"old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_someone_elses_folder_is_refused_and_untouched(tmp_path):
    target = tmp_path / "photos"
    target.mkdir()
    (target / "holiday.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(InputError, match=r"holds no plan \(plan.json\); refusing to replace it"):
        with staged_directory(target, marker="plan.json", what="plan"):
            pass
    assert _tree(target) == {"holiday.jpg": b"\xff\xd8"}


def _dead_pid():
    import subprocess
    import sys

    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(child.stdout)


def test_a_killed_writers_leftovers_are_cleaned_by_the_next_write(tmp_path):
    """kill -9 mid-write leaves .<name>.<random>.tmp (and perhaps .old); the next write cleans."""
    import os

    target = tmp_path / "out"
    target.mkdir()
    (target / "summary.json").write_text("old")
    dead = tmp_path / ".out.abc123.tmp"
    dead.mkdir()
    (dead / ".owner").write_text(f"{_dead_pid()}\n")
    (dead / "summary.json").write_text("half")
    no_owner = tmp_path / ".out.zzz999.tmp"  # from before owners were written
    no_owner.mkdir()
    alive = tmp_path / ".out.live42.tmp"  # a concurrent writer that still runs: left alone
    alive.mkdir()
    (alive / ".owner").write_text(f"{os.getppid()}\n")
    swapped = tmp_path / ".out.old111.old"  # the swap had finished; only the rmtree was lost
    swapped.mkdir()
    with staged_directory(target, marker="summary.json", what="results") as staging:
        (staging / "summary.json").write_text("new")
    assert _tree(target) == {"summary.json": b"new"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.live42.tmp", "out"]


def test_a_write_killed_between_the_renames_gets_its_old_folder_back(tmp_path):
    target = tmp_path / "out"
    old = tmp_path / ".out.k1ll3d.old"
    old.mkdir()
    (old / "summary.json").write_text("previous")
    from shancheng.data.staged import clean_stale

    assert clean_stale(target) == []
    assert _tree(target) == {"summary.json": b"previous"}
    assert not old.exists()
