"""The per-key merge called in-process on real sealed files: the cases git rarely reaches.

tests/test_git_merge.py runs the driver through `git merge`; here merge_bytes and
merge_driver run in the test's process on three versions of one sealed file made
with the library (so the data keys, MACs and tokens are real), and the result is
opened again with the key.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sealedcfg import api
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import OpenError
from sealedcfg.ops import merge, rotation, values

from .conftest import write

NAME = "prod.yaml"
Edit = Callable[[Path], None]


def _sides(
    tmp_path: Path, keys: KeySource, text: str, ours: Edit, theirs: Edit
) -> tuple[bytes, bytes, bytes]:
    """Base, ours and theirs: TEXT sealed, then each side's edit applied to the base."""
    prof = write(tmp_path / NAME, text)
    api.encrypt_file(prof, keys)
    base = prof.read_bytes()
    edited = []
    for edit in (ours, theirs):
        prof.write_bytes(base)
        edit(prof)
        edited.append(prof.read_bytes())
    prof.write_bytes(base)
    return base, edited[0], edited[1]


def _opened(tmp_path: Path, data: bytes, keys: KeySource) -> object:
    prof = tmp_path / NAME  # a sealed file opens only at the place it is bound to
    prof.write_bytes(data)
    assert api.verify_file(prof, keys).ok
    return api.load(prof, keys=keys)


def _set(dotted: str, value: str, keys: KeySource) -> Edit:
    def edit(p: Path) -> None:
        values.set_value(p, dotted, value, keys)

    return edit


def _unset(keys: KeySource, *dotted: str) -> Edit:
    def edit(p: Path) -> None:
        for d in dotted:
            values.unset(p, d, keys)

    return edit


def test_two_edits_in_one_flow_mapping_merge_value_by_value(
    tmp_path: Path, keys: KeySource
) -> None:
    text = "db: {user: u-one, password: pw-one, port: 5432}\nname: app\n"
    sides = _sides(
        tmp_path, keys, text, _set("db.user", "u-two", keys), _set("db.password", "pw-two", keys)
    )
    out = merge.merge_bytes(*sides, NAME, keys)
    assert _opened(tmp_path, out, keys) == {
        "db": {"user": "u-two", "password": "pw-two", "port": 5432},
        "name": "app",
    }
    assert "{" in out.decode()  # still one flow mapping


def test_overlapping_deletions_are_a_conflict_and_name_no_value(
    tmp_path: Path, keys: KeySource
) -> None:
    text = "a: value-a\nb: value-b\nc: value-c\nd: value-d\n"
    sides = _sides(tmp_path, keys, text, _unset(keys, "b"), _unset(keys, "b", "c"))
    with pytest.raises(merge.MergeConflict, match="overlapping edits outside values") as exc:
        merge.merge_bytes(*sides, NAME, keys)
    assert "value-" not in str(exc.value)


def test_many_conflicting_paths_are_counted_not_all_listed(tmp_path: Path, keys: KeySource) -> None:
    text = "".join(f"k{i:02d}: v{i}\n" for i in range(13))

    def side(tag: str) -> Edit:
        def edit(p: Path) -> None:
            for i in range(13):
                values.set_value(p, f"k{i:02d}", f"{tag}-{i}", keys)

        return edit

    sides = _sides(tmp_path, keys, text, side("ours"), side("theirs"))
    with pytest.raises(merge.MergeConflict) as exc:
        merge.merge_bytes(*sides, NAME, keys)
    message = str(exc.value)
    assert message.startswith(f"merge conflict in {NAME}: changed on both sides: k00, k01")
    assert message.endswith("k09 and 3 more")
    assert "ours-" not in message
    assert "theirs-" not in message


def test_keys_changed_on_both_sides_conflict(tmp_path: Path, keys: KeySource) -> None:
    def rotate(p: Path) -> None:
        rotation.rotate(p, keys)  # a new data key

    sides = _sides(tmp_path, keys, "a: value-a\n", rotate, rotate)
    with pytest.raises(merge.MergeConflict, match="keys or recipients changed on both sides"):
        merge.merge_bytes(*sides, NAME, keys)


def test_keys_changed_on_one_side_keep_that_sides_header(tmp_path: Path, keys: KeySource) -> None:
    def rotate(p: Path) -> None:
        rotation.rotate(p, keys)

    sides = _sides(tmp_path, keys, "a: value-a\nb: value-b\n", rotate, _set("b", "value-b2", keys))
    out = merge.merge_bytes(*sides, NAME, keys)
    assert _opened(tmp_path, out, keys) == {"a": "value-a", "b": "value-b2"}
    rotated = merge.load_side(sides[1], NAME, keys)
    assert merge.load_side(out, NAME, keys).data_key == rotated.data_key


def test_a_tampered_side_does_not_open(tmp_path: Path, keys: KeySource) -> None:
    base, ours, theirs = _sides(
        tmp_path, keys, "a: value-a\nb: value-b\n", _set("a", "x-1", keys), _set("b", "y-1", keys)
    )
    text = theirs.decode()
    token = text.split("b: ", 1)[1].split("\n", 1)[0]
    swapped = text.replace(token, text.split("a: ", 1)[1].split("\n", 1)[0], 1)
    with pytest.raises(OpenError):
        merge.merge_bytes(base, ours, swapped.encode(), NAME, keys)


def test_driver_writes_the_sealed_result_to_ours(tmp_path: Path, keys: KeySource) -> None:
    base, ours, theirs = _sides(
        tmp_path, keys, "a: value-a\nb: value-b\nc: value-c\n", _set("a", "x-1", keys),
        _set("c", "z-1", keys),
    )  # fmt: skip
    files = [write(tmp_path / f"{n}.tmp", d) for n, d in (("O", base), ("A", ours), ("B", theirs))]
    merge.merge_driver(files[0], files[1], files[2], NAME, keys)
    assert _opened(tmp_path, files[1].read_bytes(), keys) == {
        "a": "x-1",
        "b": "value-b",
        "c": "z-1",
    }
    prof = write(tmp_path / NAME, base)
    values.set_value(prof, "a", "x-2", keys)  # a on both sides, to other values
    ours_before = write(files[1], ours).read_bytes()
    with pytest.raises(merge.MergeConflict, match=r"changed on both sides: a$"):
        merge.merge_driver(files[0], files[1], write(files[2], prof.read_bytes()), NAME, keys)
    assert files[1].read_bytes() == ours_before  # a refusal leaves ours as it was


def test_driver_merges_plain_files_as_git_text(tmp_path: Path, keys: KeySource) -> None:
    base = write(tmp_path / "O", "a: 1\nb: 2\nc: 3\nd: 4\ne: 5\n")
    ours = write(tmp_path / "A", "a: 10\nb: 2\nc: 3\nd: 4\ne: 5\n")
    theirs = write(tmp_path / "B", "a: 1\nb: 2\nc: 3\nd: 4\ne: 50\n")
    merge.merge_driver(base, ours, theirs, None, keys)
    assert ours.read_text() == "a: 10\nb: 2\nc: 3\nd: 4\ne: 50\n"
    write(theirs, "a: 99\nb: 2\nc: 3\nd: 4\ne: 5\n")
    with pytest.raises(merge.MergeConflict, match="a plain file: git's text merge"):
        merge.merge_driver(base, ours, theirs, "config/app.yaml", keys)
    text = ours.read_text()
    assert "<<<<<<< " in text
    assert "a: 99" in text
    assert "a: 10" in text
