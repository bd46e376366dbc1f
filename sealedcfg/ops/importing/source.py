"""Reading what is imported: `.env`, JSON or plain YAML, or any of them sealed by sops.

Every source becomes one `Source`: an ordered mapping of typed values (nested
for JSON and YAML, strings for `.env`), with the comments a sops YAML or
dotenv file kept.  The format comes from `--format` or the file's name.  A
sops file is recognised by its `sops` metadata and opened (sops.py) before
anything is returned: a source that does not authenticate returns nothing.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from sealedcfg.base import fileformat, limits
from sealedcfg.base.fileio import read_bytes
from sealedcfg.errors import InputError
from sealedcfg.ops.importing import dotenv, sops, sopsfile
from sealedcfg.ops.importing.sopskeys import SopsKeys
from sealedcfg.ops.importing.tree import Source

#: Bytes read from one import source (a `.env`, JSON or YAML file).
MAX_SOURCE_BYTES = 16 << 20
RESERVED = ("sealedcfg", "sealedcfg_history")  # the header's key, kept history


def read(src: str | os.PathLike[str], fmt: str | None, keys: SopsKeys) -> Source:
    name = "<stdin>" if os.fspath(src) == "-" else os.fspath(src)
    kind = fmt or fileformat.kind_of(name)
    if kind is None:
        raise InputError(
            f"{name}: cannot tell its format from the name",
            hints=("say it: --format dotenv, --format json or --format yaml",),
        )
    if kind not in fileformat.IMPORTABLE:
        raise InputError(
            f"{name}: importing {kind} is not supported (formats: dotenv, json, yaml)",
            hints=("say the format if the name misleads: --format dotenv|json|yaml",),
        )
    data = _read(name)
    text = _decode(data, name)
    if kind == fileformat.DOTENV:
        source = _from_dotenv(text, name)
    elif kind == fileformat.JSON:
        source = _from_json(text, name)
    else:
        source = _from_yaml(data, text, name)
    if source is None:
        source = sops.open_source(text, kind, name, keys)
    check(source)
    return source


def _read(name: str) -> bytes:
    if name == "<stdin>":
        data = sys.stdin.buffer.read(MAX_SOURCE_BYTES + 1)
    else:
        size = os.stat(name).st_size if os.path.isfile(name) else 0
        if size > MAX_SOURCE_BYTES:
            raise limits.exceeded(name, "the file's size", MAX_SOURCE_BYTES)
        data = read_bytes(name)
    if len(data) > MAX_SOURCE_BYTES:
        raise limits.exceeded(name, "the file's size", MAX_SOURCE_BYTES)
    return data


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not UTF-8 text (invalid byte at offset {exc.start})") from None


def _from_dotenv(text: str, name: str) -> Source | None:
    # sops' dotenv store is read line by line, not as python-dotenv reads: decide first
    keys = {line.partition("=")[0]: None for line in text.split("\n") if "=" in line}
    if sopsfile.is_sops(keys, fileformat.DOTENV):
        return None
    return Source(name, fileformat.DOTENV, dict(dotenv.parse(text, name)))


def _from_json(text: str, name: str) -> Source | None:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise InputError(f"{name}: the key {key!r} appears twice in one object")
            out[key] = value
        return out

    def constant(word: str) -> Any:
        raise InputError(f"{name}: not JSON ({word} is not a JSON value)")

    try:
        data = json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{name}: not valid JSON (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise limits.exceeded(name, "nesting depth", limits.MAX_DEPTH) from None
    if not isinstance(data, dict):
        raise InputError(f"{name}: the top level must be a JSON object")
    if sopsfile.is_sops(data, fileformat.JSON):
        return None
    return Source(name, fileformat.JSON, data)


def _from_yaml(data: bytes, text: str, name: str) -> Source | None:
    from sealedcfg.engine import sealing
    from sealedcfg.yamltext import model
    from sealedcfg.yamltext.expansion import check_alias_expansion

    profile = sealing.read_profile(data, name)
    if profile.header is not None:
        raise InputError(
            f"{name}: is already a sealed file",
            hints=("decrypt it, or copy values with: sealedcfg get / sealedcfg set",),
        )
    body = profile.body
    if body.documents != 1:
        raise InputError(f"{name}: holds {body.documents} documents; import reads one")
    check_alias_expansion(body, name)
    doc = model.build(body, name, text_keys=True).documents[0]
    if not isinstance(doc, dict):
        raise InputError(f"{name}: the top level must be a mapping")
    if sopsfile.is_sops(doc, fileformat.YAML):
        return None
    return Source(name, fileformat.YAML, doc, text=profile.body.text)


def check(source: Source) -> None:
    """Keys are text, nothing is nested beyond the limits, every string is UTF-8."""
    for key in RESERVED:
        if key in source.data:
            raise InputError(
                f"{source.name}: a top-level key {key!r} is reserved for sealedcfg's header",
                hints=("rename it in the source first",),
            )
    count = 0
    stack: list[tuple[Any, int]] = [(source.data, 1)]
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > limits.MAX_NODES:
            raise limits.exceeded(source.name, "the number of values", limits.MAX_NODES)
        if isinstance(value, dict | list) and depth > limits.MAX_DEPTH:
            raise limits.exceeded(source.name, "nesting depth", limits.MAX_DEPTH)
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise InputError(f"{source.name}: a key that is not text")
                _utf8(key, source.name)
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, str):
            _utf8(value, source.name)


def _utf8(text: str, name: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(f"{name}: a lone surrogate (\\ud800-\\udfff) cannot be sealed") from None
