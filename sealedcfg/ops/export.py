r"""Decrypted values as environment variables (dotenv, shell) or typed JSON.

Flattening (sops #1154: nested values could not become variables): the path
segments are joined by `_`, every character outside `[A-Za-z0-9_]` becomes
`_`, the result is upper-cased and prefixed as given: `database.password` is
DATABASE_PASSWORD, `servers.0.token` is SERVERS_0_TOKEN.  Two paths that give
the same name are refused, naming both paths, never a value.

Values: strings as they are, booleans `true`/`false`, null empty, numbers by
`str`, dates and times ISO 8601, binary base64.

Dotenv dialect (there is no dotenv standard): every value double-quoted, with
`\\`, `\"`, `\$`, `\n` and `\r` as the only escapes.  Ruby dotenv, godotenv and
docker compose's `env_file` read it back exactly; python-dotenv keeps `\$` as
written and dotenvx keeps `\\` and `\"`, so values holding those characters
differ there.  `docker run --env-file` does not unquote at all: use `exec`.
"""

from __future__ import annotations

import base64
import datetime
import math
import re
from collections.abc import Iterator
from typing import Any

from sealedcfg.base.encoding import KeyPath
from sealedcfg.errors import InputError, UsageError
from sealedcfg.yamltext.document import format_path

FORMATS = ("dotenv", "shell", "json")
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")  # ASCII only: one character, one `_`
_PREFIX = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOTENV_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "$": "\\$", "\n": "\\n", "\r": "\\r"})


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


def _leaves(value: Any, path: KeyPath) -> Iterator[tuple[KeyPath, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, _key(key)))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    else:
        scalar = text(value)
        if scalar is None:
            raise InputError(
                f"{format_path(path)}: a {type(value).__name__} cannot become a variable"
            )
        yield path, scalar


def var_name(path: KeyPath, prefix: str = "") -> str:
    return prefix + "_".join(_UNSAFE.sub("_", str(seg)) for seg in path[1:]).upper()


def flatten(doc: Any, *, prefix: str = "", index: int = 0, documents: int = 1) -> dict[str, str]:
    """One document as NAME -> value; refuses two paths with one name."""
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise InputError(f"document {index} is not a mapping; it cannot become variables")
    out: dict[str, str] = {}
    seen: dict[str, KeyPath] = {}
    for path, value in _leaves(doc, (index,)):
        name = var_name(path, prefix)
        where = format_path(path, documents)
        if not name or name[0].isdigit():
            raise InputError(
                f"{where}: {name or 'an empty name'} is not a variable name",
                hints=("give a --prefix, e.g. --prefix APP_",),
            )
        if name in seen:
            raise InputError(
                f"{format_path(seen[name], documents)} and {where} both become {name}",
                hints=("rename one of the keys",),
            )
        if "\0" in value:
            raise InputError(f"{where}: a NUL character cannot be in a variable")
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
    return "".join(f'{k}="{v.translate(_DOTENV_ESCAPES)}"\n' for k, v in env.items())


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
