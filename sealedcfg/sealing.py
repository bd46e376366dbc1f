"""The in-place engine: seal and open a profile's text (FORMAT.md §6).

Pure functions over text and keys; the api module adds files, locks and
key sources.  Every authentication failure leaves here as crypto.AuthError and
is turned into the one generic OpenError by the caller.
"""

from __future__ import annotations

import codecs
import re
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import lru_cache

from sealedcfg import crypto, document, envelope
from sealedcfg import token as tokens
from sealedcfg.document import Body, Node
from sealedcfg.encoding import Path, lp
from sealedcfg.envelope import Header
from sealedcfg.errors import InputError

_U32 = struct.Struct(">I").pack
_CORE_TYPES = {f"tag:yaml.org,2002:{t}": t for t in tokens.TYPES}


@dataclass(slots=True)
class Profile:
    """A profile file split into its parts; `header` is None when not sealed."""

    name: str
    bom: bool
    body: Body
    header: Header | None
    newline: str

    def node_records(self) -> list[bytes]:
        return node_records(self.body)

    def to_bytes(self, body_text: str, header: Header | None) -> bytes:
        text = body_text
        if header is not None:
            text += header.join + envelope.render(header, self.newline)
        return (codecs.BOM_UTF8 if self.bom else b"") + text.encode("utf-8")


def decode(data: bytes, name: str) -> tuple[bool, str]:
    bom = data.startswith(codecs.BOM_UTF8)
    if bom:
        data = data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputError(f"{name}: UTF-16 text is not supported; convert it to UTF-8")
    try:
        return bom, data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not UTF-8 text (invalid byte at offset {exc.start})") from None


def read_profile(data: bytes, name: str) -> Profile:
    bom, text = decode(data, name)
    body_text, header_text = envelope.split(text)
    header = None
    if header_text is not None:
        header = envelope.parse(header_text, name)
        if not body_text.endswith(header.join):
            raise InputError(f"{name}: malformed sealedcfg header")
        body_text = body_text[: len(body_text) - len(header.join)]
    newline = "\r\n" if "\r\n" in text[: text.find("\n") + 1 or None] else "\n"
    return Profile(name, bom, document.parse(body_text, name), header, newline)


# ---------------------------------------------------------------- per node


@lru_cache(maxsize=4)
def _resolver(version: tuple[int, int]) -> Callable[[str], str]:
    """Implicit tag resolution for plain scalars, from ruamel's table for `version`.

    The table is read once; calling ruamel's `resolve` per value costs ~14 µs,
    most of it in version look-ups and Tag objects.
    """
    from ruamel.yaml.resolver import VersionedResolver

    table = VersionedResolver(version=version).versioned_resolver
    fallback = list(table.get(None, []))
    by_first = {ch: [*rules, *fallback] for ch, rules in table.items() if ch is not None}
    default = "tag:yaml.org,2002:str"

    def resolve(value: str) -> str:
        for tag, regexp in by_first.get(value[:1], fallback):
            if regexp.match(value):
                return str(tag)
        return default

    return resolve


def value_type(node: Node) -> str:
    """The type YAML gives the value: its explicit core tag, or implicit resolution."""
    if node.tag is not None and node.tag != "!":
        return _CORE_TYPES.get(node.tag, "str")
    if not node.plain or node.tag == "!":
        return "str"
    tag = _resolver(node.version or (1, 2))(node.value)
    return _CORE_TYPES.get(tag, "str")


def is_token(node: Node) -> bool:
    return node.kind == "scalar" and node.plain and tokens.looks_like_token(node.value)


def sealable(node: Node) -> bool:
    """A scalar with content to hide (an empty plain scalar has none, nor a span)."""
    return node.kind == "scalar" and not (node.plain and node.value == "") and not is_token(node)


def rule_matches(rule: re.Pattern[str] | None, node: Node) -> bool:
    return rule is not None and rule.search(document.format_path(node.path)) is not None


def compile_rule(rule: str | None) -> re.Pattern[str] | None:
    if rule is None:
        return None
    if not rule.isprintable():
        raise InputError("the plaintext rule must be printable text")
    try:
        return re.compile(rule)
    except re.error as exc:
        raise InputError(
            f"the plaintext rule is not a valid regular expression: {exc.msg}"
        ) from None


def node_records(body: Body) -> list[bytes]:
    """One injective record per node: what the file MAC authenticates.

    lp_all([epath, kind, tag, anchor, content]) for each node, written out
    inline: this runs once per node on every open.
    """
    text = body.text
    u32 = _U32
    five = u32(5)
    kinds = {k: lp(k.encode()) for k in ("scalar", "alias", "map", "seq")}
    empty = lp(b"")
    out = []
    for n in body.nodes:
        content = text[n.start : n.end] if n.kind == "scalar" else n.value
        epath = n.epath
        raw = content.encode("utf-8")
        out.append(
            b"".join(
                (
                    five,
                    u32(len(epath)),
                    epath,
                    kinds[n.kind],
                    lp(n.tag.encode()) if n.tag else empty,
                    lp(n.anchor.encode()) if n.anchor else empty,
                    u32(len(raw)),
                    raw,
                )
            )
        )
    return out


# ---------------------------------------------------------------- opening


def open_body(profile: Profile, data_key: bytes) -> str:
    """Verify commitment and MAC, decrypt every token; return the plaintext body."""
    header = profile.header
    assert header is not None
    envelope.check_commitment(data_key, header)
    envelope.check_mac(data_key, header, profile.node_records())
    return open_tokens(profile, data_key)


def open_tokens(
    profile: Profile,
    data_key: bytes,
    sources: dict[Path, tuple[str, str, str]] | None = None,
) -> str:
    """Decrypt every token of an already authenticated profile (`access.opened`).

    With `sources`, also record path -> (token, decrypted source, type), which
    lets an edit give every unchanged value its old token back.
    """
    header = profile.header
    assert header is not None
    text = profile.body.text
    edits = []
    prefix = tokens.PREFIX
    for node in profile.body.nodes:
        if node.kind == "scalar" and not node.style and node.value.startswith(prefix):
            source = open_token(data_key, header.file_id, node)
            if (
                source[:1] in ("|", ">")
                and document.is_keep_block(source)
                and document.blank_line_after(text, node.end)
            ):
                raise crypto.AuthError
            edits.append((node.start, node.end, source))
            if sources is not None:
                sources[node.path] = (node.value, source, node.value.split(";", 3)[2])
    return document.splice(text, edits)


def open_token(data_key: bytes, file_id: bytes, node: Node) -> str:
    """The source text sealed in `node`'s token; crypto.AuthError on any failure."""
    try:
        tok = tokens.parse(node.value)
    except tokens.TokenError:
        raise crypto.AuthError from None
    aad = crypto.value_aad(file_id, node.epath, tok.vtype, tok.meta_bytes())
    plain = crypto.open_value(data_key, tok.salt, tok.nonce, tok.ciphertext, aad)
    try:
        return plain.decode("utf-8")
    except UnicodeDecodeError:  # authentic but not ours: treat like any failure
        raise crypto.AuthError from None


# ---------------------------------------------------------------- sealing


def seal_node(
    data_key: bytes,
    file_id: bytes,
    node: Node,
    source: str,
    meta: tuple[tuple[str, str], ...] = (),
    vtype: str | None = None,
) -> str:
    vtype = vtype or value_type(node)
    aad = crypto.value_aad(file_id, node.epath, vtype, tokens.encode_meta(meta))
    salt, nonce, ct = crypto.seal_value(data_key, source.encode("utf-8"), aad)
    return tokens.Token(vtype, meta, salt, nonce, ct).format()


def to_seal(profile: Profile, rule: re.Pattern[str] | None) -> list[Node]:
    return [n for n in profile.body.nodes if sealable(n) and not rule_matches(rule, n)]


def seal_nodes(profile: Profile, data_key: bytes, file_id: bytes, nodes: Iterable[Node]) -> Body:
    """Splice a token over each node's span; re-parse to prove the structure held."""
    text = profile.body.text
    return splice_tokens(
        profile.name,
        profile.body,
        [(n, seal_node(data_key, file_id, n, text[n.start : n.end])) for n in nodes],
    )


def splice_tokens(name: str, body: Body, replacements: list[tuple[Node, str]]) -> Body:
    """Put each token over its node's span; refuse unless the structure held."""
    text = body.text
    new_text = document.splice(text, [(n.start, n.end, tok) for n, tok in replacements])
    new_body = document.parse(new_text, name)
    spans = {(n.start, n.end) for n, _ in replacements}
    keeps = {n.path for n, _ in replacements if document.is_keep_block(text[n.start : n.end])}
    if not _same_shape(body, new_body, spans) or any(
        document.blank_line_after(new_text, n.end) for n in new_body.nodes if n.path in keeps
    ):
        raise InputError(
            f"{name}: cannot seal this file without changing its structure",
            hints=("please report it with a minimal example",),
        )
    return new_body


def reseal(old: Profile, data_key: bytes, new_text: str, rule: re.Pattern[str] | None) -> Body:
    """Seal an edited sealed text: new plaintext values, and tokens that moved.

    A token's AAD binds its path, so one that an edit moved (a list item
    removed above it) is opened at its old path and sealed at its new one.
    Tokens that did not move keep their bytes.  A token that was not in the
    authenticated old file is refused.
    """
    header = old.header
    assert header is not None
    origins = {n.value: n for n in old.body.nodes if is_token(n)}
    body = document.parse(new_text, old.name)
    replacements = []
    for node in body.nodes:
        if is_token(node):
            origin = origins.get(node.value)
            if origin is None:
                raise crypto.AuthError
            if origin.path != node.path:
                source = open_token(data_key, header.file_id, origin)
                vtype = tokens.parse(origin.value).vtype
                replacements.append(
                    (node, seal_node(data_key, header.file_id, node, source, vtype=vtype))
                )
        elif sealable(node) and not rule_matches(rule, node):
            source = new_text[node.start : node.end]
            replacements.append((node, seal_node(data_key, header.file_id, node, source)))
    return splice_tokens(old.name, body, replacements)


def reseal_plain(
    name: str,
    header: Header,
    data_key: bytes,
    plain_text: str,
    previous: dict[Path, tuple[str, str, str]],
) -> Body:
    """Seal a plaintext body, reusing the old token of every unchanged value.

    `previous` maps a path to (token, source, type) from the sealed file the
    plaintext came from; a value whose path, source text and type are all
    unchanged gets its old token back byte for byte.
    """
    rule = compile_rule(header.plain)
    body = document.parse(plain_text, name)
    replacements = []
    for node in body.nodes:
        if not sealable(node) or rule_matches(rule, node):
            continue
        source = plain_text[node.start : node.end]
        old = previous.get(node.path)
        if old is not None and old[1] == source and old[2] == value_type(node):
            replacements.append((node, old[0]))
        else:
            replacements.append((node, seal_node(data_key, header.file_id, node, source)))
    return splice_tokens(name, body, replacements)


def _same_shape(old: Body, new: Body, sealed_spans: set[tuple[int, int]]) -> bool:
    if len(old.nodes) != len(new.nodes):
        return False
    for a, b in zip(old.nodes, new.nodes, strict=True):
        if (a.path, a.kind, a.tag, a.anchor) != (b.path, b.kind, b.tag, b.anchor):
            return False
        if (
            a.kind == "scalar"
            and (a.start, a.end) not in sealed_spans
            and (old.text[a.start : a.end] != new.text[b.start : b.end])
        ):
            return False
    return True


def new_join(body: Body, newline: str) -> str:
    """What goes between a body and a new header so both stay valid YAML."""
    join = ""
    if body.text and not body.text.endswith(("\n", "\r")):
        join += newline
    if body.documents and not body.open_block_mapping:
        join += "---" + newline
    return join


def finish_header(header: Header, data_key: bytes, body: Body) -> Header:
    return replace(header, mac=envelope.compute_mac(data_key, header, node_records(body)))


def new_only_paths(body: Body, new: set[Path]) -> set[Path]:
    """Paths of nodes that exist only because of new plaintext values.

    A collection counts as new when every node below it is new.
    """
    state: dict[Path, list[int]] = {}  # parent -> [children, new children]
    result: set[Path] = set()
    for n in reversed(body.nodes):
        if n.kind in ("map", "seq"):
            total, fresh = state.pop(n.path, [0, 0])
            is_new = total > 0 and total == fresh
        else:
            is_new = n.kind == "scalar" and n.path in new
        if is_new:
            result.add(n.path)
        if len(n.path) > 1:
            counts = state.setdefault(n.path[:-1], [0, 0])
            counts[0] += 1
            counts[1] += is_new
    return result


def records_without(body: Body, skip: set[Path]) -> list[bytes]:
    kept = Body(body.text, [n for n in body.nodes if n.path not in skip], body.documents)
    return node_records(kept)
