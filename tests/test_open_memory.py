"""Opening holds no parse of the opened text before its MAC held, past a small file.

`open_checked(keep_body=True)` (get, export, exec, load, and every read-modify-write)
keeps the opened text's parse for the reader.  Built before the MAC is checked, it
doubled what a forged file costs before it is refused: anyone who can write the file
can set its header's `plain` rule to `.*` and add 249,000 plaintext values, and `get`
or `set` of such a 1 MB file peaked at 313 MB (194 MB without the early parse).
"""

from __future__ import annotations

import gc
import re
import sys
from pathlib import Path

import pytest

from sealedcfg import api
from sealedcfg.engine import access, sealing
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import OpenError

from .conftest import write


def _forged(target: Path, nodes: int) -> bytes:
    """TARGET's sealed file with every path plain by rule and NODES plaintext values added."""
    body, header = target.read_text().split("sealedcfg:\n", 1)
    header = re.sub(r"(?m)^  plain: .*$", '  plain: ".*"', header)
    return (body + "big: [" + ",".join(["1"] * nodes) + "]\nsealedcfg:\n" + header).encode()


def test_a_forged_file_is_refused_before_its_opened_parse_is_held(
    tmp_path: Path, keys: KeySource
) -> None:
    target = write(tmp_path / "p.yaml", "pw: hunter2-secret\n")
    api.encrypt_file(target, keys)
    nodes = 40_000  # past the bound (sealing.KEEP_BODY_NODES)
    data = _forged(target, nodes)
    # Memory blocks held, sampled at each garbage collection (one per few hundred
    # objects built): the peak while opening, without tracemalloc's 20x slowdown.
    peak = [0]

    def sample(phase: str, info: dict[str, int]) -> None:
        peak[0] = max(peak[0], sys.getallocatedblocks())

    gc.collect()
    before = sys.getallocatedblocks()
    profile = sealing.read_profile(data, str(target))
    parse = sys.getallocatedblocks() - before  # the sealed text's parse, held
    gc.callbacks.append(sample)
    try:
        peak[0] = held = sys.getallocatedblocks()
        with pytest.raises(OpenError):
            access.authenticate(profile, keys, keep_body=True)
    finally:
        gc.callbacks.remove(sample)
    assert len(profile.body.nodes) > nodes
    assert peak[0] - held < parse // 2, (peak[0] - held, parse)  # a second parse: ~parse


def test_a_large_file_still_opens_with_its_parse(tmp_path: Path, keys: KeySource) -> None:
    """Past the bound the opened parse is built after the MAC held, and is the same."""
    n = 20_010  # past the bound (sealing.KEEP_BODY_NODES)
    target = write(tmp_path / "p.yaml", "".join(f"k{i}: v{i}\n" for i in range(n)))
    api.encrypt_file(target, keys)
    loaded = api.load(target, keys=keys)
    assert (len(loaded), loaded[f"k{n - 1}"]) == (n, f"v{n - 1}")
