"""The in-place engine: seal and open a profile's text (FORMAT.md §6).

Pure functions over text and keys; the api module adds files, locks and
key sources.  Every authentication failure leaves here as crypto.AuthError and
is turned into the one generic OpenError by the caller.
"""

from __future__ import annotations

import codecs
import hashlib
import re
import struct
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from itertools import chain
from typing import TypeVar

from sealedcfg.base.encoding import KeyPath, lp, lp_all
from sealedcfg.base.pattern import Pattern, compile_pattern
from sealedcfg.errors import InputError
from sealedcfg.format import crypto, envelope
from sealedcfg.format import token as tokens
from sealedcfg.format.envelope import Header
from sealedcfg.recipients import table
from sealedcfg.yamltext import document, model
from sealedcfg.yamltext.document import Body, Node

_U32 = struct.Struct(">I").pack
# Raw line breaks that YAML 1.1 readers (PyYAML, libyaml) take as line breaks
# and YAML 1.2 readers (ruamel, Go) as content: one text, two meanings.
_AMBIGUOUS_BREAK = re.compile("\r(?!\n)|[\x85\u2028\u2029]")
_TOKEN_RECORD_HEAD = lp_all((b"token", b"", b"", b""))[: -3 * 4]  # count and b"token"
_NO_META = tokens.encode_meta(())
# `open_checked(keep_body=True)` keeps the opened parse it authenticates only up to this
# many nodes: held before the MAC is checked, it would double what a forged file of
# 250,000 nodes costs before it is refused; past it the text is streamed, parsed after.
KEEP_BODY_NODES = 20_000
HISTORY_KEY = "sealedcfg_history"  # lifecycle history (lifecycle/store.py)
REMAC_HINT = (
    "resolve the conflict; if git left markers only in the sealedcfg header "
    "(a merge without the merge driver): sealedcfg git remac FILE",
)
T = TypeVar("T")


@dataclass(slots=True)
class Opened:
    """A sealed body opened and authenticated: the plaintext text (and its parse)."""

    text: str
    name: str
    sources: dict[str, str] = field(default_factory=dict)  # token -> its plaintext source
    # path -> (token, source, type): lets an edit give unchanged values their tokens
    by_path: dict[KeyPath, tuple[str, str, str]] = field(default_factory=dict)
    parsed: Body | None = None
    # `token_records` of the sealed body, gathered while opening its tokens.
    token_records: list[bytes] = field(default_factory=list)

    @property
    def body(self) -> Body:
        """The plaintext's parse, built on first use: opening authenticates the
        text in one streamed pass, and decrypt or verify need no more."""
        if self.parsed is None:
            self.parsed = parse_opened(self.text, self.name)
        return self.parsed


@dataclass(slots=True)
class Profile:
    """A profile file split into its parts; `header` is None when not sealed."""

    name: str
    bom: bool
    body: Body
    header: Header | None
    newline: str
    opened: Opened | None = None  # set once the file was authenticated (access.opened)
    raw: bytes | None = None  # the body's UTF-8 bytes, when they are the file's (no copy)

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
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not UTF-8 text (invalid byte at offset {exc.start})") from None
    check_breaks(text, name)
    return bom, text


def check_breaks(text: str, name: str) -> None:
    """Refuse line breaks that YAML 1.1 and 1.2 readers read differently."""
    # Substring tests first (C speed): the regex costs ~40 ms per megabyte.
    if (
        ("\r" not in text or text.count("\r") == text.count("\r\n"))
        and "\x85" not in text
        and "\u2028" not in text
        and "\u2029" not in text
    ):
        return
    match = _AMBIGUOUS_BREAK.search(text)
    if match is not None:
        line = text.count("\n", 0, match.start()) + 1
        what = "a lone CR" if match.group() == "\r" else f"U+{ord(match.group()):04X}"
        raise InputError(
            f"{name}: line {line}: {what} is a line break to YAML 1.1 readers but not to "
            "YAML 1.2 ones, so the file would mean two things",
            hints=(
                "use LF or CRLF line endings; in a value write \\N, \\L or \\P in double quotes",
            ),
        )


def read_profile(
    data: bytes, name: str, place: str | None = None, *, keep_nodes: bool = True
) -> Profile:
    """Split and parse a profile; with `place`, refuse one sealed for another path.

    Without `keep_nodes`, a file that has no header keeps no parse: only its
    document facts (for `new_join`), for `seal_new` to seal in one stream.
    """
    bom, text = decode(data, name)
    body_text, header_text = envelope.split(text)
    # Markers anywhere (the `mac:` line is where a merge without the driver
    # leaves them), reported at their line in the whole file.
    document.check_conflict_markers(text, name, REMAC_HINT if header_text is not None else ())
    header = None
    if header_text is not None:
        header = table.parse_header(header_text, name, first_line=body_text.count("\n") + 1)
        if not body_text.endswith(header.join):
            raise InputError(f"{name}: malformed sealedcfg header")
        body_text = body_text[: len(body_text) - len(header.join)]
        from sealedcfg.engine import place as places

        places.check(header.bind, place, name)
    newline = "\r\n" if "\r\n" in text[: text.find("\n") + 1 or None] else "\n"
    del text, header_text  # the whole text is not needed again: freed before the parse
    if header is None and not keep_nodes:
        raw = None if bom else data  # then exactly the body, encoded
        return Profile(name, bom, unsealed_outline(body_text, name), header, newline, raw=raw)
    return Profile(name, bom, document.parse(body_text, name), header, newline)


def unsealed_outline(text: str, name: str) -> Body:
    """A file without a header, parsed without keeping its nodes (they are
    walked again by `seal_new`); a token in it is refused here."""
    body = Body(text)

    def refuse_tokens(nodes: Iterator[Node]) -> None:
        for node in nodes:
            if is_token(node):
                raise InputError(
                    f"{name}: a sealed value at line {node.line} in a file "
                    "without a sealedcfg header"
                )

    document.walk(text, name, refuse_tokens, body)
    return body


# ---------------------------------------------------------------- per node


def value_type(node: Node) -> str:
    """The type YAML gives the value: its explicit core tag, or implicit resolution."""
    return model.value_type(node)


def is_token(node: Node) -> bool:
    """A value token: a plain scalar in the grammar's form; a core tag never stands
    outside one (it is sealed with the value), an application tag may."""
    # Cheapest test first: this runs for every node of every file read.
    return (
        node.value.startswith(_PREFIX)
        and node.kind == "scalar"
        and not node.style
        and node.tag not in document.CORE_SCALAR_TAGS
    )


_PREFIX = tokens.PREFIX


def sealable(node: Node) -> bool:
    """A scalar with content to hide (an empty plain scalar has none, nor a span)."""
    return node.kind == "scalar" and (node.value != "" or bool(node.style)) and not is_token(node)


def rule_matches(rule: Pattern | None, node: Node) -> bool:
    if len(node.path) > 1 and node.path[1] == HISTORY_KEY:
        return False  # kept history (FORMAT.md §9.2) is always sealed, whatever the rule
    return rule is not None and rule.search(document.format_path(node.path))


@dataclass(frozen=True, slots=True)
class Problem:
    """A key-less finding in a sealed profile: what `verify --no-decrypt` and the hook report."""

    node: Node
    rule_id: str  # malformed-token | unsealed-value
    message: str


def keyless_problems(profile: Profile) -> Iterator[Problem]:
    """Every value that must be sealed is a well-formed token: the check that needs no key.

    Lazy, so a caller that lists a bounded number stops early on a hostile file.
    """
    assert profile.header is not None
    rule = compile_rule(profile.header.plain)
    for node in profile.body.nodes:
        if is_token(node):
            try:
                tokens.parse(node.value)
            except tokens.TokenError as exc:
                yield Problem(node, "malformed-token", f"malformed token: {exc}")
        elif node.kind == "scalar" and not node.plain and tokens.looks_like_token(node.value):
            yield Problem(node, "malformed-token", "a token must be a plain scalar")
        elif sealable(node) and not rule_matches(rule, node):
            yield Problem(node, "unsealed-value", "plaintext value in a sealed file")


def compile_rule(rule: str | None) -> Pattern | None:
    """The plaintext rule, compiled with RE2: it comes from the (untrusted) header."""
    if rule is None:
        return None
    if not rule.isprintable():
        raise InputError("the plaintext rule must be printable text")
    return compile_pattern(rule, "the plaintext rule")


# ---------------------------------------------------------------- opening


def open_body(profile: Profile, data_key: bytes) -> str:
    """Verify commitment, every token and the MAC; return the plaintext body."""
    return open_checked(profile, data_key).text


def open_checked(
    profile: Profile, data_key: bytes, skip: set[KeyPath] | None = None, *, keep_body: bool = False
) -> Opened:
    """Open every token and prove that the opened text means what was sealed.

    The MAC covers the loaded meaning of the plaintext (`model.meaning_records`),
    so it is checked on the opened text, parsed the way every reader parses it:
    a layout edit that changes what a loader returns (a comment indented under
    a block scalar, a re-indented parent, a quoted `<<`) fails here, and one
    that does not (a comment, a blank line) still opens.  `skip`: paths of new
    plaintext values a re-seal adopts, left out of the check.  `keep_body`: keep
    the opened text's parse (`Opened.body`) for a reader that needs its nodes,
    rather than stream it and parse again (up to KEEP_BODY_NODES: a larger parse
    is built only once the MAC held).  Every failure is crypto.AuthError.
    """
    header = profile.header
    assert header is not None
    envelope.check_commitment(data_key, header)
    rule = compile_rule(header.plain)
    skipped = skip or set()
    if any(n.path not in skipped for n in to_seal(profile, rule)):
        raise crypto.AuthError  # a value that the rule says is sealed stands in plaintext
    opened = decrypt_tokens(profile, data_key)
    if keep_body and len(profile.body.nodes) <= KEEP_BODY_NODES:
        opened.parsed = parse_opened(opened.text, profile.name)
        records = model.meaning_records(opened.parsed, skipped)
    else:
        records = opened_records(opened.text, profile.name, skipped)
    envelope.check_mac(data_key, header, records + opened.token_records)
    profile.opened = opened
    return opened


def decrypt_tokens(profile: Profile, data_key: bytes) -> Opened:
    """Splice every token's plaintext over it (no MAC check, no parse)."""
    header = profile.header
    assert header is not None
    text = profile.body.text
    edits = []
    opened = Opened("", profile.name)
    prefix = tokens.PREFIX
    records = opened.token_records
    opener = crypto.ValueOpener(data_key, header.file_id)
    head, u32 = _TOKEN_RECORD_HEAD, _U32
    tails: dict[tuple[str, str], bytes] = {}  # (type, metadata) -> record tail: they repeat
    for node in profile.body.nodes:
        value = node.value
        if node.kind == "scalar" and not node.style and value.startswith(prefix):
            epath = u32(len(node.path)) + node.eseg  # node.epath, without its two calls
            source, vtype, meta = _open_with(opener, value, epath)
            edits.append((node.start, node.end, source))
            opened.sources[value] = source
            opened.by_path[node.path] = (value, source, vtype)
            tail = tails.get((vtype, meta))
            if tail is None:
                tail = tails[vtype, meta] = lp(vtype.encode()) + lp(meta.encode())
            # lp_all((b"token", epath, type, metadata)), as token_records builds it
            records.append(head + u32(len(epath)) + epath + tail)
    opened.text = document.splice(text, edits)
    return opened


def opened_body(name: str, body: Body, header: Header, data_key: bytes) -> Body:
    """The plaintext parse of a sealed body this process just built (for its MAC)."""
    return decrypt_tokens(Profile(name, False, body, header, "\n"), data_key).body


def parse_opened(text: str, name: str) -> Body:
    """Parse decrypted text; anything but a clean parse without tokens is tampering."""
    body = Body(text)
    body.nodes = _walk_opened(text, name, list, body)
    return body


def opened_records(text: str, name: str, skip: Iterable[KeyPath] = ()) -> list[bytes]:
    """The meaning records of decrypted text (`model.meaning_records`), from one
    streamed pass over its parse: no node is kept.  crypto.AuthError unless it
    parses cleanly without tokens."""
    meta = Body(text)
    records = _walk_opened(text, name, lambda nodes: model.node_records(nodes, skip), meta)
    return records + model.doc_records(meta.versions)


def _walk_opened(text: str, name: str, consume: Callable[[Iterator[Node]], T], meta: Body) -> T:
    try:
        check_breaks(text, name)
        return document.walk(text, name, lambda nodes: consume(_no_tokens(nodes)), meta)
    except InputError:
        raise crypto.AuthError from None


def _no_tokens(nodes: Iterable[Node]) -> Iterator[Node]:
    """The nodes, refused at the first token (one inside a token, or one left over)."""
    prefix = tokens.PREFIX
    for node in nodes:
        if node.value.startswith(prefix) and is_token(node):
            raise crypto.AuthError
        yield node


def token_records(sealed: Body) -> list[bytes]:
    """lp_all("token", path, type, metadata) for each token of the sealed body.

    The meaning records cover each value; these cover what its token says about
    it, so an older token of the same value (other `expires`, say) taken from
    git history does not open in its place.
    """
    out = []
    for node in sealed.nodes:
        if is_token(node):
            fields = node.value.split(";", 4)
            out.append(lp_all((b"token", node.epath, fields[2].encode(), fields[3].encode())))
    return out


def open_token(data_key: bytes, file_id: bytes, node: Node) -> str:
    """The source text sealed in `node`'s token; crypto.AuthError on any failure."""
    return _open_token_at(data_key, file_id, node.value, node.epath)


def _open_token_at(data_key: bytes, file_id: bytes, value: str, epath: bytes) -> str:
    return _open_with(crypto.ValueOpener(data_key, file_id), value, epath)[0]


def _open_with(opener: crypto.ValueOpener, value: str, epath: bytes) -> tuple[str, str, str]:
    """(source, type, metadata as written) of token `value` at `epath`;
    crypto.AuthError on any failure."""
    try:
        vtype, meta_text, meta, payload = tokens.fields(value)
    except tokens.TokenError:
        raise crypto.AuthError from None
    plain = opener.open(payload, epath, vtype, tokens.encode_meta(meta) if meta else _NO_META)
    try:
        return plain.decode("utf-8"), vtype, meta_text
    except UnicodeDecodeError:  # authentic but not ours: treat like any failure
        raise crypto.AuthError from None


# ---------------------------------------------------------------- sealing


def open_tokens(
    profile: Profile,
    data_key: bytes,
    sources: dict[KeyPath, tuple[str, str, str]] | None = None,
) -> str:
    """The opened text of a profile `access.opened` authenticated (authenticated
    here when it was not); `sources` gets path -> (token, source, type)."""
    opened = profile.opened or open_checked(profile, data_key)
    if sources is not None:
        sources.update(opened.by_path)
    return opened.text


def seal_node(
    data_key: bytes,
    file_id: bytes,
    node: Node,
    source: str,
    meta: tuple[tuple[str, str], ...] = (),
    vtype: str | None = None,
) -> str:
    vtype = vtype or value_type(node)
    if meta:  # FORMAT.md §4.3 step 1: only grammatical metadata is sealed
        try:
            tokens.check_meta(meta)
        except tokens.TokenError as exc:
            raise InputError(f"metadata for line {node.line}: {exc}") from None
    aad = crypto.value_aad(file_id, node.epath, vtype, tokens.encode_meta(meta))
    salt, nonce, ct = crypto.seal_value(data_key, source.encode("utf-8"), aad)
    return tokens.Token(vtype, meta, salt, nonce, ct).format()


def to_seal(profile: Profile, rule: Pattern | None) -> list[Node]:
    """The nodes the rule says are sealed that are not tokens (`sealable`,
    inlined: this runs over every node of every file opened)."""
    prefix = _PREFIX
    return [
        n
        for n in profile.body.nodes
        if n.kind == "scalar"
        and (n.value != "" or n.style)
        and not (n.value.startswith(prefix) and is_token(n))
        and not rule_matches(rule, n)
    ]


def seal_nodes(profile: Profile, data_key: bytes, file_id: bytes, nodes: Iterable[Node]) -> Body:
    """Splice a token over each node's span; re-parse to prove the structure held."""
    text = profile.body.text
    return splice_tokens(
        profile.name,
        profile.body,
        [(n, seal_node(data_key, file_id, n, text[n.start : n.end])) for n in nodes],
    )


def splice_tokens(name: str, body: Body, replacements: list[tuple[Node, str]]) -> Body:
    """Put each token over its node's span; refuse unless the structure held.

    Every token must read back as exactly itself, a plain scalar at the same
    path (`"pw"#note` would glue `#note` onto it), so that what is sealed opens.
    """
    text = body.text
    new_text = document.splice(text, [(n.start, n.end, tok) for n, tok in replacements])
    try:
        new_body = document.parse(new_text, name)
    except InputError:
        new_body = None
    line = _shape_error(body, new_body, {(n.start, n.end): tok for n, tok in replacements})
    if line is not None:
        raise InputError(
            f"{name}: line {line}: this value cannot be sealed in place "
            "(its token would not read back as one plain value)",
            hints=("a comment right after a quoted value needs a space before its #",),
        )
    assert new_body is not None
    return new_body


def _shape_error(old: Body, new: Body | None, tokens_at: dict[tuple[int, int], str]) -> int | None:
    """The line of the first node the splice changed, beyond its value; None if none."""
    if new is None:
        return next(iter(sorted(n.line for n in old.nodes if (n.start, n.end) in tokens_at)), 1)
    if len(old.nodes) != len(new.nodes):
        return min(
            (a.line for a, b in zip(old.nodes, new.nodes, strict=False) if a.path != b.path),
            default=old.nodes[-1].line if old.nodes else 1,
        )
    for a, b in zip(old.nodes, new.nodes, strict=True):
        token = tokens_at.get((a.start, a.end)) if a.kind == "scalar" else None
        if not _same_shape(a, b, token, old.text, new.text):
            return a.line
    return None


def _same_shape(a: Node, b: Node, token: str | None, old_text: str, new_text: str) -> bool:
    """Does node B of the spliced text stand for node A: A itself, or A's TOKEN?"""
    tag_ok = a.tag == b.tag or (
        token is not None and a.tag in document.CORE_SCALAR_TAGS and b.tag is None
    )
    if (a.path, a.kind, a.anchor) != (b.path, b.kind, b.anchor) or not tag_ok:
        return False
    if token is None:  # untouched: a scalar keeps its text to the byte
        return a.kind != "scalar" or old_text[a.start : a.end] == new_text[b.start : b.end]
    if b.style or b.value != token:
        return False
    # a keep block (|+) swallows the blank line after it: the token must not
    return not (
        document.is_keep_block(old_text[a.start : a.end])
        and document.blank_line_after(new_text, b.end)
    )


def reseal(old: Profile, data_key: bytes, new_text: str, rule: Pattern | None) -> tuple[Body, Body]:
    """Seal an edited sealed text: new plaintext values, and tokens that moved.

    Returns (sealed body, opened body).  A token's AAD binds its path, so one
    that an edit moved (a list item removed above it) is opened at its old
    path and sealed at its new one, with its type and metadata.  Tokens that
    did not move keep their bytes.  A token that was not in the authenticated
    old file is refused.  A new value at a path that held a token keeps that
    token's metadata.
    """
    decide = _resealer(old, data_key, new_text, rule)
    body = document.parse(new_text, old.name)
    replacements = []
    plain_edits = []
    for node in body.nodes:
        token, source = decide(node)
        if source is not None:
            plain_edits.append((node.start, node.end, source))
        if token is not None:
            replacements.append((node, token))
    sealed = splice_tokens(old.name, body, replacements)
    return sealed, document.parse(document.splice(new_text, plain_edits), old.name)


def reseal_text(
    old: Profile, data_key: bytes, new_text: str, rule: Pattern | None
) -> tuple[str, Header]:
    """`reseal`, then `finish_header`, in streams: (sealed body text, header
    with its MAC), holding no parse of the new, sealed or opened text."""
    assert old.header is not None
    decide = _resealer(old, data_key, new_text, rule)
    splicer = _Splicer(old.name, new_text)
    plain_edits: list[tuple[int, int, str]] = []

    def consume(nodes: Iterator[Node]) -> None:
        splicer.reset()  # a walk may start over (document.walk)
        plain_edits.clear()
        for node in nodes:
            token, source = decide(node)
            if source is not None:
                plain_edits.append((node.start, node.end, source))
            splicer.add(node, token)

    document.walk(new_text, old.name, consume)
    plain_text = document.splice(new_text, plain_edits)
    plain_edits.clear()
    return splicer.finish(old.header, data_key, plain_text)


def _resealer(
    old: Profile, data_key: bytes, new_text: str, rule: Pattern | None
) -> Callable[[Node], tuple[str | None, str | None]]:
    """For each node of an edited sealed text: (the token to put over it, or
    None; its plaintext source when it is a token)."""
    header = old.header
    assert header is not None
    assert old.opened is not None
    opened = old.opened
    origin = {tok: path for path, (tok, _, _) in opened.by_path.items()}

    def decide(node: Node) -> tuple[str | None, str | None]:
        if is_token(node):
            path = origin.get(node.value)
            if path is None:
                raise crypto.AuthError
            source = opened.sources[node.value]
            if path != node.path:
                tok = tokens.parse(node.value)
                return seal_node(
                    data_key, header.file_id, node, source, tok.meta, tok.vtype
                ), source
            return None, source
        if sealable(node) and not rule_matches(rule, node):
            source = new_text[node.start : node.end]
            meta = _meta_at(opened.by_path.get(node.path))
            return seal_node(data_key, header.file_id, node, source, meta), None
        return None, None

    return decide


def _meta_at(entry: tuple[str, str, str] | None) -> tuple[tuple[str, str], ...]:
    return tokens.parse(entry[0]).meta if entry is not None else ()


def reseal_plain(
    name: str,
    header: Header,
    data_key: bytes,
    plain_text: str,
    previous: dict[KeyPath, tuple[str, str, str]],
    *,
    keep_tokens: bool = True,
) -> tuple[Body, Body]:
    """Seal a plaintext body, reusing the old token of every unchanged value.

    Returns (sealed body, plaintext body).  `previous` maps a path to (token,
    source, type) from the sealed file the plaintext came from; a value whose
    path, source text and type are all unchanged gets its old token back byte
    for byte (unless `keep_tokens` is off: a new data key), and any value
    sealed at a path that held a token keeps its metadata.
    """
    decide = _plain_resealer(header, data_key, plain_text, previous, keep_tokens)
    body = document.parse(plain_text, name)
    replacements = []
    for node in body.nodes:
        token = decide(node)
        if token is not None:
            replacements.append((node, token))
    return splice_tokens(name, body, replacements), body


def reseal_plain_text(
    name: str,
    header: Header,
    data_key: bytes,
    plain_text: str,
    previous: dict[KeyPath, tuple[str, str, str]],
) -> tuple[str, Header]:
    """`reseal_plain`, then `finish_header`, in streams: (sealed body text,
    header with its MAC), holding no parse of either text."""
    decide = _plain_resealer(header, data_key, plain_text, previous, True)
    splicer = _Splicer(name, plain_text)

    def consume(nodes: Iterator[Node]) -> None:
        splicer.reset()  # a walk may start over (document.walk)
        for node in nodes:
            splicer.add(node, decide(node))

    document.walk(plain_text, name, consume)
    return splicer.finish(header, data_key, plain_text)


def _plain_resealer(
    header: Header,
    data_key: bytes,
    plain_text: str,
    previous: dict[KeyPath, tuple[str, str, str]],
    keep_tokens: bool,
) -> Callable[[Node], str | None]:
    """For each node of a plaintext body: the token to put over it, or None."""
    rule = compile_rule(header.plain)

    def decide(node: Node) -> str | None:
        if not sealable(node) or rule_matches(rule, node):
            return None
        source = plain_text[node.start : node.end]
        old = previous.get(node.path)
        if keep_tokens and old is not None and old[1] == source and old[2] == value_type(node):
            return old[0]
        return seal_node(data_key, header.file_id, node, source, _meta_at(old))

    return decide


def seal_adopted(profile: Profile, data_key: bytes, nodes: list[Node]) -> tuple[str, Header]:
    """Seal the new plaintext `nodes` of an authenticated sealed profile
    (`encrypt --adopt`): (sealed body text, header with its MAC over the
    opened text).  The profile's parse is released once read."""
    header, opened = profile.header, profile.opened
    assert header is not None
    assert opened is not None
    text = profile.body.text
    splicer = _Splicer(profile.name, text)
    new = {(n.start, n.end) for n in nodes if n.kind == "scalar"}
    nodes.clear()
    for node in profile.body.nodes:
        token = None
        if node.kind == "scalar" and (node.start, node.end) in new:
            token = seal_node(data_key, header.file_id, node, text[node.start : node.end])
        splicer.add(node, token)
    profile.body.nodes = []
    release(profile)
    return splicer.finish(header, data_key, opened.text)


def seal_one(
    profile: Profile, data_key: bytes, node: Node, token: str, source: str
) -> tuple[str, Header]:
    """Put `token` (sealing `source`) over one scalar `node` of an authenticated
    profile: (sealed body text, header with its MAC).  Nothing moves, so the
    opened text changes only at that value's place, found from the tokens
    before it; the profile's parse is released once read."""
    header, opened = profile.header, profile.opened
    assert header is not None
    assert opened is not None
    text = profile.body.text
    splicer = _Splicer(profile.name, text)
    shift = 0  # opened text minus sealed text, before `node`
    for n in profile.body.nodes:
        if n is node:
            splicer.add(n, token)
            continue
        if n.start < node.start and n.kind == "scalar" and n.path in opened.by_path:
            shift += len(opened.by_path[n.path][1]) - (n.end - n.start)
        splicer.add(n, None)
    start = node.start + shift
    entry = opened.by_path.get(node.path)
    old = entry[1] if entry is not None else text[node.start : node.end]
    end = start + len(old)
    if opened.text[start:end] != old:  # never, but the parse is exact
        spot = next(n for n in opened.body.nodes if n.path == node.path)
        start, end = spot.start, spot.end
    plain_text = document.splice(opened.text, [(start, end, source)])
    profile.body.nodes = []
    release(profile)
    return splicer.finish(header, data_key, plain_text)


def release(profile: Profile) -> None:
    """Drop what authenticating `profile` needed and a rewrite of it does not:
    the token records of its MAC and the opened text's parse."""
    if profile.opened is not None:
        profile.opened.token_records = []
        profile.opened.parsed = None


class _Splicer:
    """`splice_tokens` and `finish_header` in streams, node by node.

    `add` is given every node of `text` in order, with the token to put over
    it (None to leave it: a token already there stays); `finish` splices, proves
    that the sealed text reads back (as `seal_new` does: a hash of what each
    node must parse to, compared with the sealed text's), and computes the MAC
    over the meaning of the opened text in one streamed pass, so that neither
    text's parse is held.
    """

    def __init__(self, name: str, text: str) -> None:
        self.name, self.text = name, text
        self.reset()

    def reset(self) -> None:
        self.spans: list[tuple[int, int, str]] = []
        self.expected = hashlib.sha256()
        self.keep_blocks: set[str] = set()  # tokens over keep-chomped block scalars
        self.token_recs: list[bytes] = []

    def add(self, node: Node, token: str | None) -> None:
        if token is not None:
            self.spans.append((node.start, node.end, token))
            if document.is_keep_block(self.text[node.start : node.end]):
                self.keep_blocks.add(token)
            self.token_recs.append(_token_record(node.epath, token))
        elif node.kind == "scalar" and not node.style and node.value.startswith(_PREFIX):
            token = node.value  # a token that stays (and what reads as one: compared so)
            if is_token(node):
                self.token_recs.append(_token_record(node.epath, token))
        self.expected.update(_shape_of(node, self.text, token))

    def finish(self, header: Header, data_key: bytes, plain_text: str) -> tuple[str, Header]:
        name, text = self.name, self.text
        sealed_text = document.splice(text, self.spans)
        if not _reads_back(name, sealed_text, self.expected.digest(), self.keep_blocks):
            # Slow, but only for a text that cannot be sealed: name the line.
            body = document.parse(text, name)
            at = {(s, e): t for s, e, t in self.spans}
            spots = [(n, at[n.start, n.end]) for n in body.scalars() if (n.start, n.end) in at]
            splice_tokens(name, body, spots)
            raise InputError(f"{name}: this file cannot be sealed in place")
        self.spans = []
        records = plain_records(plain_text, name)
        records += self.token_recs
        self.token_recs = []
        return sealed_text, replace(header, mac=envelope.compute_mac(data_key, header, records))


def _token_record(epath: bytes, token: str) -> bytes:
    """lp_all(("token", epath, type, metadata)), as `token_records` builds it."""
    fields = token.split(";", 4)
    return _TOKEN_RECORD_HEAD + lp(epath) + lp(fields[2].encode()) + lp(fields[3].encode())


def plain_records(text: str, name: str) -> list[bytes]:
    """`finish_header`'s checks and meaning records of a plaintext body, from
    one streamed pass over its parse: built as typed values (what seals is what
    every reader can load), then `model.meaning_records`."""
    meta = Body(text)
    records = document.walk(
        text, name, lambda nodes: model.node_records(model.building(nodes, name, None, None)), meta
    )
    return records + model.doc_records(meta.versions)


def seal_new(profile: Profile, header: Header, data_key: bytes) -> tuple[bytes, Header, int]:
    """Seal a file that has no header yet: (the sealed file's bytes, header with
    its MAC, values sealed), without holding the parse of either text.

    One pass over the plaintext's nodes seals each value, builds the typed
    values (so that what seals is what every reader can load; `finish_header`),
    and collects the meaning records; a second, over the sealed text, proves
    that every token reads back as exactly itself at its node's place: both
    passes hash what the sealed text must parse to, node by node, and the two
    hashes must agree (otherwise the slow comparison names the line).
    """
    name, text, file_id = profile.name, profile.body.text, header.file_id
    rule = compile_rule(header.plain)
    blocks: list[str] = []  # the sealed text, in pieces
    chunks: list[str] = []  # the latest piece, in pieces
    store = _RecordStore()
    keep_blocks: set[str] = set()  # tokens over keep-chomped block scalars
    expected = [hashlib.sha256()]

    def first_pass(nodes: Iterator[Node]) -> None:
        # Fresh state: a walk may start over (document.walk).
        blocks.clear()
        chunks.clear()
        store.clear()
        keep_blocks.clear()
        expected[0] = hashlib.sha256()
        pos = 0

        def seal(nodes: Iterator[Node]) -> Iterator[Node]:
            nonlocal pos
            for node in nodes:
                token = None
                if sealable(node) and not rule_matches(rule, node):
                    source = text[node.start : node.end]
                    vtype = value_type(node)
                    token = seal_node(data_key, file_id, node, source, (), vtype)
                    chunks.append(text[pos : node.start])
                    chunks.append(token)
                    pos = node.end
                    if len(chunks) >= 8192:  # a few large pieces rather than many small ones
                        blocks.append("".join(chunks))
                        chunks.clear()
                    store.token(node.epath, vtype, "")
                    if document.is_keep_block(source):
                        keep_blocks.add(token)
                expected[0].update(_shape_of(node, text, token))
                yield node

        model.node_records(model.building(seal(nodes), name, None, None), out=store)
        chunks.append(text[pos:])
        blocks.append("".join(chunks))
        chunks.clear()

    outline = Body(text)
    document.walk(text, name, first_pass, outline, utf8=profile.raw)
    # The MAC first, so that its records are gone before the sealed text is
    # joined and parsed again: they are the largest thing held.
    count = store.tokens
    mac = store.mac(data_key, header, model.doc_records(outline.versions))
    store.clear()
    sealed_text = "".join(blocks)
    blocks.clear()
    if not _reads_back(name, sealed_text, expected[0].digest(), keep_blocks):
        # Slow, but only for a file that cannot be sealed: name the line.
        full = replace(profile, body=document.parse(text, name))
        seal_nodes(full, data_key, file_id, to_seal(full, rule))
        raise InputError(f"{name}: this file cannot be sealed in place")
    final = replace(header, mac=mac)
    # The file's bytes, holding no more than the text and one encoded copy.
    body = sealed_text.encode("utf-8")
    del sealed_text
    tail = (final.join + envelope.render(final, profile.newline)).encode("utf-8")
    return (codecs.BOM_UTF8 if profile.bom else b"") + body + tail, final, count


_NODE_RECORD_HEAD = lp_all((b"node", b"", b"", b"", b"", b"", b""))[: -6 * 4]  # count, b"node"
_UNPACK_U32 = struct.Struct(">I").unpack_from


class _RecordStore:
    """The MAC records of a file being sealed, held compactly until the MAC.

    A record is lp_all of its fields, so one sorts by its first field ("doc" <
    "token" < "node", by count: 3 < 4 < 7), then, since a path occurs once per
    kind, by its lp(encoded path) alone.  So each node's record and its
    token's (same path) are kept as one bytes without their common heads:
    lp(path), the rest of the node record, the rest of the token record and
    that rest's length.  Sorted once, these give the token records in order,
    then the node records: what `envelope.compute_mac` would feed, without
    three objects per sealed value.
    """

    def __init__(self) -> None:
        self.entries: list[bytes] = []
        self.pending: dict[bytes, bytes] = {}  # path -> its token record's rest
        self.tokens = 0

    def clear(self) -> None:
        self.entries.clear()
        self.pending.clear()
        self.tokens = 0

    def token(self, epath: bytes, vtype: str, meta: str) -> None:
        """lp_all(("token", epath, vtype, meta)): comes before its node's record."""
        self.pending[epath] = lp(vtype.encode()) + lp(meta.encode())
        self.tokens += 1

    def append(self, record: bytes) -> None:  # model.node_records' sink
        head = len(_NODE_RECORD_HEAD)
        if not record.startswith(_NODE_RECORD_HEAD):
            raise ValueError("not a node record")
        size = _UNPACK_U32(record, head)[0]
        tail = self.pending.pop(record[head + 4 : head + 4 + size], b"")
        self.entries.append(record[head:] + tail + _U32(len(tail)))

    def mac(self, data_key: bytes, header: Header, doc_records: list[bytes]) -> bytes:
        if self.pending:
            raise ValueError("a token record without its node")
        self.entries.sort()
        count = len(doc_records) + self.tokens + len(self.entries)
        return envelope.compute_mac_ordered(
            data_key, header, count, chain(sorted(doc_records), self._tokens(), self._nodes())
        )

    def _tokens(self) -> Iterator[bytes]:
        head = _TOKEN_RECORD_HEAD
        for entry in self.entries:
            tail = _UNPACK_U32(entry, len(entry) - 4)[0]
            if tail:
                size = _UNPACK_U32(entry)[0]
                yield head + entry[: 4 + size] + entry[len(entry) - 4 - tail : -4]

    def _nodes(self) -> Iterator[bytes]:
        head = _NODE_RECORD_HEAD
        for entry in self.entries:
            tail = _UNPACK_U32(entry, len(entry) - 4)[0]
            yield head + entry[: len(entry) - 4 - tail]


def _shape_of(node: Node, text: str, token: str | None) -> bytes:
    """What the sealed text must read as at this node: its place, kind, anchor,
    tag, and either its token (a core tag goes inside it) or its own text."""
    if token is not None:
        tag = None if node.tag in document.CORE_SCALAR_TAGS else node.tag
        content = ("token", token)
    elif node.kind == "scalar":
        tag, content = node.tag, ("text", text[node.start : node.end])
    else:
        tag, content = node.tag, None
    return repr((node.epath, node.kind, node.anchor, tag, content)).encode("utf-8", "surrogatepass")


def _reads_back(name: str, sealed_text: str, expected: bytes, keep_blocks: set[str]) -> bool:
    """Does `sealed_text` parse to the shape `seal_new` hashed?"""
    prefix = tokens.PREFIX

    def matches(nodes: Iterator[Node]) -> bool:
        actual = hashlib.sha256()
        ok = True
        for node in nodes:
            token = None
            if node.kind == "scalar" and not node.style and node.value.startswith(prefix):
                token = node.value
                if token in keep_blocks and document.blank_line_after(sealed_text, node.end):
                    ok = False
            actual.update(_shape_of(node, sealed_text, token))
        return ok and actual.digest() == expected

    try:
        return document.walk(sealed_text, name, matches)
    except InputError:
        return False


def new_join(body: Body, newline: str) -> str:
    """What goes between a body and a new header so both stay valid YAML."""
    join = ""
    if body.text and not body.text.endswith(("\n", "\r")):
        join += newline
    if body.documents and not body.open_block_mapping:
        join += "---" + newline
    return join


def finish_header(
    header: Header, data_key: bytes, opened: Body, name: str = "", *, sealed: Body
) -> Header:
    """The header with its MAC over the meaning of `opened`, the plaintext body,
    and the type and metadata of each token of `sealed`, the body written.

    The plaintext is first built as typed values, so that what seals is what
    every reader can load (a bad !!binary, keys 0x10 and 16 in one mapping).
    """
    model.build(opened, name or "<text>")
    records = model.meaning_records(opened) + token_records(sealed)
    mac = envelope.compute_mac(data_key, header, records)
    return replace(header, mac=mac)


def new_only_paths(body: Body, new: set[KeyPath]) -> set[KeyPath]:
    """Paths of nodes that exist only because of new plaintext values.

    A collection counts as new when every node below it is new.
    """
    state: dict[KeyPath, list[int]] = {}  # parent -> [children, new children]
    result: set[KeyPath] = set()
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
