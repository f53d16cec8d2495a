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
