"""Fuzzing the key-less parser of sealed files: random bytes and mutated sealed files.

Whatever the bytes, reading a profile and checking its structure either works or
raises an error of the InputError family (never anything else: that would be exit
70), within a time and memory bound; through the CLI, a refusal is one
`sealedcfg: error:` line.  Kept to a few seconds: hypothesis, small example counts.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import tracemalloc
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sealedcfg import api
from sealedcfg.cli.main import make_app
from sealedcfg.engine import access, sealing
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import ExitCode, SealedcfgError

from .conftest import FIXTURES

KEY = api.keygen()
SOURCES = [
    (FIXTURES / "profiles" / "prod.yaml").read_bytes(),
    (FIXTURES / "edge" / "tags-anchors.yaml").read_bytes(),
    (FIXTURES / "edge" / "multidoc.yaml").read_bytes(),
]
MAX_SECONDS = 2.0
MAX_BYTES = 64 << 20
# Bytes that reach YAML's and the header's special cases quickly.
INTERESTING = [
    b"[",
    b"]",
    b"{",
    b"&a ",
    b"*a",
    b"!!binary ",
    b"%YAML 1.3\n",
    b"---\n",
    b"\xed\xa0\x80",
    b"\\ud800",
    b"sealedcfg;v1;str;;",
    b"\n  - type: passphrase\n",
    b"    m: 131072\n",
    b'  plain: "^(.+)+#$"\n',
    b"\x00",
    b"\xff",
    b"\r\n",
    b"#",
]


def _sealed(text: bytes) -> bytes:
    profile = sealing.read_profile(text, "seed.yaml")
    header, data_key = access.new_header(
        profile, KeySource(key=KEY, env={}), plain="host$", kdf=None, use_rules=False
    )
    rule = sealing.compile_rule(header.plain)
    body = sealing.seal_nodes(profile, data_key, header.file_id, sealing.to_seal(profile, rule))
    final = sealing.finish_header(header, data_key, profile.body, "seed.yaml", sealed=body)
    return profile.to_bytes(body.text, final)


SEEDS = [_sealed(s) for s in SOURCES]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "delete", "insert", "repeat", "truncate"]))
        at = draw(st.integers(0, len(data)))
        if op == "flip" and data:
            i = min(at, len(data) - 1)
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        elif op == "insert":
            data[at:at] = draw(st.sampled_from(INTERESTING) | st.binary(max_size=12))
        elif op == "repeat":
            piece = bytes(data[at : at + draw(st.integers(1, 60))])
            data[at:at] = piece * draw(st.integers(1, 200))
        else:
            data = data[:at]
    return bytes(data)


def _read_and_check(data: bytes) -> None:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        profile = sealing.read_profile(data, "fuzz.yaml")
        if profile.header is not None:
            api.structure_problems(profile)
    except SealedcfgError:
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert time.perf_counter() - started < MAX_SECONDS
    assert peak < MAX_BYTES


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400) | mutated())
def test_keyless_parser_never_crashes(data: bytes) -> None:
    _read_and_check(data)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_cli_refusal_is_one_clean_line(data: bytes) -> None:
    directory = Path(tempfile.mkdtemp())
    path = directory / "p.yaml"
    path.write_bytes(data)
    runner = CliRunner()
    for args, ok in (
        (["verify", "--no-decrypt", str(path)], {ExitCode.OK, ExitCode.FINDINGS}),
        (
            ["decrypt", "-k", str(directory / "k"), str(path)],
            {ExitCode.OK, ExitCode.INPUT, ExitCode.OPEN},
        ),
    ):
        (directory / "k").write_text(KEY + "\n")
        result = runner.invoke(make_app(), args)
        assert result.exit_code in ok, (args, result.exit_code, result.stderr)
        if result.exit_code in (ExitCode.INPUT, ExitCode.OPEN):
            lines = [ln for ln in result.stderr.splitlines() if not ln.startswith("hint: ")]
            assert len(lines) == 1, result.stderr
            assert lines[0].startswith("sealedcfg: error: ")
    assert path.read_bytes() == data
    shutil.rmtree(directory)
