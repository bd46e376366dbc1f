"""Three-way merges of random edits to different keys, over the fixtures and the corpus."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from sealedcfg import api
from sealedcfg.base.encoding import KeyPath
from sealedcfg.engine import sealing
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import InputError, SealedcfgError
from sealedcfg.ops import merge, values
from sealedcfg.yamltext import document

from .conftest import write
from .test_fidelity import SOURCES, _top_level_not_mapping


def _related(a: KeyPath, b: KeyPath) -> bool:
    return a[: len(b)] == b or b[: len(a)] == a


def _edit(
    target: Path, rng: random.Random, avoid: KeyPath | None, keys: KeySource
) -> KeyPath | None:
    """One random edit away from `avoid`: a value changed, a key added or removed."""
    profile = sealing.read_profile(target.read_bytes(), str(target))
    nodes = [
        n
        for n in profile.body.nodes
        if len(n.path) > 1 and (avoid is None or not _related(n.path, avoid))
        # list items shift their siblings' paths, so removals stay within mappings
    ]
    rng.shuffle(nodes)
    for node in nodes:
        dotted = document.format_path(node.path, profile.body.documents)
        try:
            if rng.random() < 0.3 and isinstance(node.path[-1], str):
                values.unset(target, dotted, keys)
            elif node.kind == "map":
                values.set_value(target, f"{dotted}.added", f"x{rng.randrange(10**6)}", keys)
            elif node.kind == "scalar":
                values.set_value(target, dotted, f"c{rng.randrange(10**6)}", keys)
            else:
                continue
        except SealedcfgError:
            continue
        return node.path
    return None


def _value(target: Path, dotted: str, keys: KeySource) -> object:
    try:
        return api.get(target, dotted, keys)
    except InputError:
        return "<absent>"


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.name)
def test_merge_of_edits_to_different_keys(src: Path, tmp_path: Path, keys: KeySource) -> None:
    if _top_level_not_mapping(src.read_bytes()):
        pytest.skip("not a profile: top level is not a mapping")
    base = write(tmp_path / "base.yaml", src.read_bytes())
    api.encrypt_file(base, keys)
    ours = write(tmp_path / "ours.yaml", base.read_bytes())
    theirs = write(tmp_path / "theirs.yaml", base.read_bytes())
    rng = random.Random("merge:" + src.name)
    a = _edit(ours, rng, None, keys)
    b = _edit(theirs, rng, a, keys) if a is not None else None
    if a is None or b is None:
        pytest.skip("no independent edits to make")
    merged = write(
        tmp_path / "merged.yaml",
        merge.merge_bytes(base.read_bytes(), ours.read_bytes(), theirs.read_bytes(), "m", keys),
    )
    assert api.verify_file(merged, keys).ok
    documents = sealing.read_profile(base.read_bytes(), "base").body.documents
    for side, path in ((ours, a), (theirs, b)):
        dotted = document.format_path(path, documents)
        assert _value(merged, dotted, keys) == _value(side, dotted, keys), dotted
