r"""Decrypted values for deploy steps: dotenv, shell, JSON, YAML, GitHub Actions.

Flattening (sops #1154: nested values could not become variables): the path
segments are joined by `_`, every character outside `[A-Za-z0-9_]` becomes
`_`, the result is upper-cased and prefixed as given: `database.password` is
DATABASE_PASSWORD, `servers.0.token` is SERVERS_0_TOKEN.  Two paths that give
the same name are refused, naming both paths, never a value.

Values: strings as they are, booleans `true`/`false`, null empty, numbers by
`str`, dates and times ISO 8601, binary base64.  A NUL cannot be in a variable
and is refused.

Each format is written for one consumer and tested against it (tests/test_formats.py):

- dotenv: python-dotenv (`load_dotenv`, `dotenv_values`, interpolation on, as
  by default).  Every value is double-quoted with `\\`, `\"`, `\n` and `\r`
  escaped; python-dotenv expands `${...}` even inside quotes and has no escape
  for `$`, so a literal `${` is written `${:-$}{` (the empty variable's default
  is `$`).  Other dotenv readers (Ruby dotenv, godotenv, docker compose) differ
  on escapes and `${`: use `exec`, or the shell format, for them.
- shell: `export NAME='value'` for POSIX sh, bash, zsh; safe to `eval` or
  `source` whatever the value holds (inside single quotes nothing is special;
  a `'` is written `'\''`).
- json: one object, values keep their types (dates ISO 8601, binary base64).
- yaml: one mapping, values keep their types (dates, binary as `!!binary`).
- github: the `$GITHUB_ENV` file syntax, every variable in the delimiter form
  (`NAME<<DELIM`, the value's lines, `DELIM`) as `@actions/core` writes it,
  with a random delimiter checked not to occur in the value; `::add-mask::`
  lines (printed to stdout, one per line of each value: the runner masks line
  by line) on request.
"""

from __future__ import annotations

import base64
import datetime
import math
import re
from collections.abc import Iterable, Iterator
from typing import Any

from sealedcfg.base.encoding import KeyPath, Segment
from sealedcfg.errors import InputError, UsageError
from sealedcfg.yamltext.document import format_path

FORMATS = ("dotenv", "shell", "json", "yaml", "github")
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")  # ASCII only: one character, one `_`
_PREFIX = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOTENV_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"})


def check_prefix(prefix: str) -> None:
    if prefix and not _PREFIX.fullmatch(prefix):
        raise UsageError(f"--prefix {prefix!r}: use letters, digits and _ (not a digit first)")


def text(value: Any) -> str | None:
    """The environment form of a scalar, or None when `value` is not a scalar."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime.date | datetime.time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    return None


def _key(key: Any) -> str:
    return "null" if key is None else (text(key) or str(key))


def _leaves(value: Any, path: KeyPath, name: str) -> Iterator[tuple[KeyPath, str, str]]:
    """(path, variable name without prefix, text) of each leaf; the name is
    built as the walk goes down (naming each leaf from its whole path would cost
    a regex per segment, again and again for shared parents)."""
    if isinstance(value, dict):
        items: Iterable[tuple[Segment, Any]] = ((_key(k), v) for k, v in value.items())
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        scalar = text(value)
        if scalar is None:
            raise InputError(
                f"{format_path(path)}: a {type(value).__name__} cannot become a variable"
            )
        yield path, name, scalar
        return
    for seg, item in items:
        part = _UNSAFE.sub("_", str(seg)).upper()
        yield from _leaves(item, (*path, seg), f"{name}_{part}" if len(path) > 1 else part)


def flatten(doc: Any, *, prefix: str = "", index: int = 0, documents: int = 1) -> dict[str, str]:
    """One document as NAME -> value; refuses two paths with one name."""
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise InputError(f"document {index} is not a mapping; it cannot become variables")
    out: dict[str, str] = {}
    seen: dict[str, KeyPath] = {}
    for path, bare, value in _leaves(doc, (index,), ""):
        name = prefix + bare
        if not name or name[0].isdigit():
            raise InputError(
                f"{format_path(path, documents)}: {name or 'an empty name'} is not a variable name",
                hints=("give a --prefix, e.g. --prefix APP_",),
            )
        if name in seen:
            raise InputError(
                f"{format_path(seen[name], documents)} and {format_path(path, documents)} "
                f"both become {name}",
                hints=("rename one of the keys",),
            )
        if "\0" in value:
            raise InputError(
                f"{format_path(path, documents)}: a NUL character cannot be in a variable"
            )
        seen[name] = path
        out[name] = value
    return out


def pick(docs: list[Any], doc: int | None, name: str) -> tuple[Any, int]:
    """The one document to flatten: `--doc N`, or the only one."""
    if doc is None:
        if len(docs) > 1:
            raise InputError(
                f"{name}: holds {len(docs)} documents; choose one with --doc N (0-based)"
            )
        return (docs[0] if docs else None), 0
    if not 0 <= doc < len(docs):
        raise InputError(f"{name}: has no document {doc} (it holds {len(docs)}, from 0)")
    return docs[doc], doc


def dotenv(env: dict[str, str]) -> str:
    return "".join(f'{k}="{_dotenv_value(v)}"\n' for k, v in env.items())


def _dotenv_value(value: str) -> str:
    # python-dotenv expands ${NAME:-default} inside quotes; ${:-$} is always `$`.
    return value.translate(_DOTENV_ESCAPES).replace("${", "${:-$}{")


def shell(env: dict[str, str]) -> str:
    """POSIX sh: `export NAME='value'`, safe to `eval` or `source`."""
    return "".join(f"export {k}={_single_quoted(v)}\n" for k, v in env.items())


def _single_quoted(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def jsonable(value: Any) -> Any:
    """The typed structure as JSON values: dates ISO, binary base64, keys as text."""
    if isinstance(value, dict):
        return {_key(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((jsonable(v) for v in value), key=repr)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    scalar = text(value)
    return str(value) if scalar is None else scalar


# ---------------------------------------------------------------- whole views


def select(doc: Any, only: list[str]) -> Any:
    """The subtrees at ONLY (dotted paths of mapping keys), each kept at its full path."""
    if not only:
        return doc
    from sealedcfg.yamltext import paths

    out: dict[Any, Any] = {}
    for dotted in only:
        index, parts = paths.split(dotted)
        if index is not None:  # `0:` too: the document is chosen by --doc
            raise InputError(f"--only {dotted!r}: give a path without a document index")
        value: Any = doc
        for i, seg in enumerate(parts):
            if not isinstance(value, dict):
                shown = ".".join(parts[:i])
                raise InputError(f"--only {dotted!r}: {shown!r} is not a mapping")
            if seg not in value:
                raise InputError(f"--only {dotted!r}: there is no {'.'.join(parts[: i + 1])!r}")
            value = value[seg]
        target = out
        for seg in parts[:-1]:
            nxt = target.get(seg)
            if not isinstance(nxt, dict):
                nxt = target[seg] = {}
            target = nxt
        target[parts[-1]] = value
    return out


def json_text(doc: Any) -> str:
    import json

    return json.dumps(jsonable({} if doc is None else doc), indent=2, ensure_ascii=False) + "\n"


def yaml_text(doc: Any) -> str:
    """One YAML mapping, typed; read back by any YAML 1.1/1.2 safe loader."""
    import io

    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.allow_unicode = True
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]
    out = io.StringIO()
    yaml.dump(_yamlable({} if doc is None else doc), out)
    return out.getvalue()


def _yamlable(value: Any) -> Any:
    if isinstance(value, dict):
        return {_key(k): _yamlable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_yamlable(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((_yamlable(v) for v in value), key=repr)
    if isinstance(value, bytearray):
        return bytes(value)
    return value


GITHUB_DELIMITER = "ghadelimiter_"


def github(env: dict[str, str], token: Any = None) -> str:
    """`$GITHUB_ENV` lines: NAME<<DELIM, the value, DELIM (the runner's heredoc form).

    The runner reads the value up to the first line equal to the delimiter, so
    the delimiter is drawn at random and drawn again should it occur in the
    value (as @actions/core refuses).  TOKEN: a random-text source (a test seam).
    """
    import secrets

    draw = token or (lambda: secrets.token_hex(16))
    out = []
    for name, value in env.items():
        delimiter = GITHUB_DELIMITER + draw()
        while delimiter in value:
            delimiter = GITHUB_DELIMITER + draw()
        out.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
    return "".join(out)


def masks(env: dict[str, str]) -> str:
    """`::add-mask::` workflow commands, one per non-empty line of every value.

    The runner masks a secret line by line, so a multi-line value registered
    whole would not hide each of its lines; the command's data is escaped as
    the toolkit escapes it (`%`, CR, LF).
    """
    seen: set[str] = set()
    out = []
    for value in env.values():
        for line in value.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
            if line.strip() and line not in seen:
                seen.add(line)
                out.append("::add-mask::" + line.replace("%", "%25") + "\n")
    return "".join(out)


def render(fmt: str, doc: Any, prefix: str = "") -> str:
    """DOC (one merged mapping) in FMT."""
    check_format(fmt)
    if fmt == "json":
        return json_text(doc)
    if fmt == "yaml":
        return yaml_text(doc)
    by_name = {"dotenv": dotenv, "shell": shell, "github": github}
    return by_name[fmt](flatten(doc, prefix=prefix))


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r} (one of: {', '.join(FORMATS)})")
