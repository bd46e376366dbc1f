"""Layered profiles: `extends: base`, opened and deep-merged (README "Profiles").

A profile's top-level `extends` names its parent: a sibling file (same
directory, same suffix) that must itself open with the user's keys and be
bound to its own place.  Every repository file is attacker-writable, so the
declaration is read only from the *opened, authenticated* model of the child:
sealed, it is a token bound to its path; left plaintext by the rule, its value
is covered by the file MAC (model.meaning_records).  Without a key nobody can
add, remove or change an `extends`, and the parent is named by authenticated
data alone (the child's bound place and its `extends` value), never by the
rules file.  Chains are followed up to MAX_DEPTH; a cycle is refused naming it.

Merging: mappings merge key by key, recursively; anything else (a scalar, a
list, a mapping meeting a non-mapping) is replaced by the later layer's value.
The `extends` key itself and kept history are not part of the view.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sealedcfg.engine import profiles, sealing
from sealedcfg.engine.access import open_model
from sealedcfg.engine.keys import KeySource
from sealedcfg.errors import InputError
from sealedcfg.yamltext.document import format_path

EXTENDS = "extends"
MAX_DEPTH = 16  # profiles in one chain: base, region, prod ... far below this

Key = Any  # a mapping key: text, or typed as a loader types it


@dataclass
class View:
    """What readers see of a profile: its chain's documents, merged."""

    files: list[str]  # the chain, base first, the file asked for last
    documents: list[Any]
    layers: list[Any] = field(default_factory=list)  # each file's own document (chains)


def open_documents(path: str | os.PathLike[str], keys: KeySource, *, text_keys: bool) -> list[Any]:
    """One sealed file opened, authenticated and built as typed values, history left out."""
    docs = open_model(path, keys, text_keys=text_keys)[1].documents
    for doc in docs:  # kept history is the file's, not the application's (FORMAT.md §9.2)
        if isinstance(doc, dict):
            doc.pop(sealing.HISTORY_KEY, None)
    return docs


def _extends(docs: list[Any], name: str) -> str | None:
    declared = [d for d in docs if isinstance(d, dict) and EXTENDS in d]
    if not declared:
        return None
    if len(docs) != 1:
        raise InputError(f"{name}: 'extends' is allowed only in a single-document profile")
    parent = declared[0].pop(EXTENDS)
    if not isinstance(parent, str):
        raise InputError(f"{name}: 'extends' must name a profile, e.g. extends: base")
    return profiles.check_name(parent, f"{name}: extends")


def open_view(path: str | os.PathLike[str], keys: KeySource, *, text_keys: bool = False) -> View:
    """The file at PATH with every profile it extends, merged (later wins)."""
    chain: list[tuple[str, list[Any]]] = []
    seen: dict[str, str] = {}
    current = Path(path)
    while True:
        name = str(current)
        real = os.path.realpath(current)
        if real in seen:
            cycle = " -> ".join([*(n for n, _ in chain), name])
            raise InputError(f"extends cycle: {cycle}", hints=("remove one 'extends'",))
        if len(chain) >= MAX_DEPTH:
            raise InputError(f"{path}: more than {MAX_DEPTH} profiles in its extends chain")
        seen[real] = name
        docs = open_documents(current, keys, text_keys=text_keys)
        parent = _extends(docs, name)
        chain.append((name, docs))
        if parent is None:
            break
        found = profiles.sibling(current.parent, parent, (current.suffix,))
        if found is None:
            raise InputError(
                f"{name}: extends {parent!r}, but "
                f"{current.parent / (parent + current.suffix)} does not exist"
            )
        current = found
    chain.reverse()
    if len(chain) == 1:
        return View([chain[0][0]], chain[0][1], [])
    layers = [docs[0] if docs[0] is not None else {} for _, docs in chain]
    merged: Any = {}
    for layer in layers:
        if not isinstance(layer, dict):
            raise InputError(f"{chain[0][0]}: a profile in an extends chain must be a mapping")
        merged = merge(merged, layer)
    return View([n for n, _ in chain], [merged], layers)


def merge(base: Any, over: Any) -> Any:
    """OVER deep-merged onto BASE (neither is changed: aliases share objects)."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = merge(base[key], value) if key in base else value
        return out
    return over


def merge_all(documents: list[Any]) -> Any:
    merged: Any = None
    for doc in documents:
        merged = doc if merged is None else merge(merged, doc)
    return merged


_MISSING = object()


def _at(doc: Any, path: tuple[Key, ...]) -> Any:
    for seg in path:
        if isinstance(doc, dict):
            if seg not in doc:
                return _MISSING
            doc = doc[seg]
        elif isinstance(doc, list) and isinstance(seg, int) and 0 <= seg < len(doc):
            doc = doc[seg]
        else:
            return _MISSING
    return doc


def leaves(value: Any, path: tuple[Key, ...] = ()) -> Iterator[tuple[tuple[Key, ...], Any]]:
    """Every scalar (and empty collection) under VALUE with its path."""
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            yield from leaves(item, (*path, index))
    else:
        yield path, value


@dataclass(frozen=True)
class Origin:
    path: str  # dotted
    source: str  # the file the value comes from
    overrides: tuple[str, ...]  # earlier files that also set it


def origins(view: View) -> list[Origin]:
    """Where each value of a merged view comes from (`ls --resolved`)."""
    out = []
    layers = view.layers or view.documents[:1]
    merged = view.documents[0] if view.documents else None
    for path, _ in leaves(merged):
        if not path:
            continue
        pairs = zip(view.files, layers, strict=True)
        setters = [f for f, layer in pairs if _at(layer, path) is not _MISSING]
        dotted = format_path((0, *(str(p) if not isinstance(p, int) else p for p in path)), 1)
        out.append(Origin(dotted, setters[-1], tuple(setters[:-1])))
    return out


def lookup(doc: Any, parts: list[str], dotted: str) -> Any:
    """The value at a dotted path's segments in a merged (text-keyed) view."""
    current = doc
    for i, seg in enumerate(parts):
        if isinstance(current, dict) and seg in current:
            current = current[seg]
        elif isinstance(current, list) and seg.isdigit() and int(seg) < len(current):
            current = current[int(seg)]
        else:
            shown = ".".join(parts[: i + 1])
            raise InputError(f"bad path {dotted!r}: no key {shown!r} in the merged profile")
    return current
