"""The CLI's fast JSON writers give exactly what `json.dumps(data, indent=2)` gives.

`dumps_json` (every `--json`) and `ls_json` exist because the standard library
writes indented JSON in pure Python: `ls --json` of a 250,000-node file took 9 s.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sealedcfg import api
from sealedcfg.cli.edit import ls_json
from sealedcfg.cli.util import dumps_json
from sealedcfg.engine.keys import KeySource

from .conftest import FAST_TEXT, write


@dataclasses.dataclass
class Row:
    name: str
    items: list[Any]
    extra: dict[str, Any]


def reference(data: Any) -> str:
    def default(obj: Any) -> Any:
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            return dataclasses.asdict(obj)
        if isinstance(obj, Path):
            return str(obj)
        raise TypeError(type(obj).__name__)

    return json.dumps(data, indent=2, default=default)


scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(st.characters(codec="utf-8"), max_size=8)
)
keys = st.text(max_size=5) | st.integers() | st.booleans() | st.none() | st.floats()
trees = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(keys, inner, max_size=4)
        | st.builds(
            Row,
            st.text(max_size=4),
            st.lists(inner, max_size=3),
            st.dictionaries(st.text(max_size=3), inner, max_size=3),
        )
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(trees)
def test_dumps_json_is_json_dumps_indent_2(data: Any) -> None:
    assert dumps_json(data) == reference(data)


def test_dumps_json_dict_subclasses() -> None:
    from collections import OrderedDict

    cases: list[Any] = [OrderedDict(), {"a": OrderedDict()}, OrderedDict(a=1, b=[OrderedDict()])]
    for data in cases:
        assert dumps_json(data) == reference(data)


def test_dumps_json_paths_and_errors() -> None:
    assert dumps_json({"p": Path("/a/b"), "e": [{}, [], ()]}) == reference(
        {"p": Path("/a/b"), "e": [{}, [], ()]}
    )
    try:
        dumps_json({"x": object()})
    except TypeError:
        pass
    else:
        raise AssertionError("an object JSON cannot write must raise TypeError")


def test_ls_json_is_json_dumps_of_the_entries(tmp_path: Path, keys: KeySource) -> None:
    path = write(tmp_path / "p.yaml", 'a: 1\n"d.\\"q\u00e9": [x, {}]\nempty:\nb: {c: [1, 2]}\n')
    api.encrypt_file(path, keys)
    api.set_value(path, "a", "2", keys)
    api.change_meta(path, "a", {"owner": "ops-team", "expires": "2030-01-01"}, keys)
    entries = api.ls(path)
    assert any(e.meta for e in entries)
    assert any(e.type is None for e in entries)
    listing = {str(path): entries, "other.yaml": []}
    assert ls_json(listing) == reference(listing)
    assert ls_json({}) == reference({})


def test_ls_json_through_the_cli(tmp_path: Path, key: str) -> None:
    path = write(tmp_path / "p.yaml", "a: 1\nb: [x, y]\n")
    api.encrypt_file(path, KeySource(key=key, env={}))
    proc = subprocess.run(
        [sys.executable, "-m", "sealedcfg", "ls", "--json", str(path)],
        capture_output=True,
        text=True,
        env={"SEALEDCFG_ARGON2": FAST_TEXT, "PATH": "/usr/bin:/bin"},
        check=True,
    )
    assert proc.stdout == reference({str(path): api.ls(path)}) + "\n"
