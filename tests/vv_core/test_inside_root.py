"""The stage-input rule: a stage's input lies inside the storage root (lexically, `..` folded)."""

import pytest

from vv_core.errors import VVError
from vv_core.storage import INSIDE_ROOT_RULE, require_inside_root


def test_paths_inside_the_root_pass(tmp_path, monkeypatch):
    root = tmp_path / "storage"
    require_inside_root(root / "input" / "cam1" / "a.mp4", root, "video")
    require_inside_root(root / "input" / ".." / "processed" / "a.mp4", root, "video")
    monkeypatch.chdir(root.parent)
    require_inside_root("storage/input/a.mp4", "storage", "video")  # relative to the working directory


@pytest.mark.parametrize("path", ["/elsewhere/a.mp4", "{root}/../a.mp4", "{root}/input/../../a.mp4", "{root}x/a.mp4"])
def test_paths_outside_the_root_are_refused_with_the_rule(tmp_path, path):
    root = tmp_path / "storage"
    path = path.format(root=root)
    with pytest.raises(VVError) as refused:
        require_inside_root(path, root, "video")
    assert str(refused.value) == f"video {path} is outside the storage root {root}: {INSIDE_ROOT_RULE}"
