"""The JSON Schema of the definition format, and its findings with locations.

Validating is the costliest step of reading a definition (importing jsonschema alone takes
longer than parsing every bundled file), so the verdicts "satisfies the schema" are kept in
the user's cache folder (`$XDG_CACHE_HOME/statemachine`, else `~/.cache/statemachine`): a
document whose data and schema are those of a remembered verdict is not validated again.
The verdict is keyed on a hash of the schema's text and of the document's data, not of its
file, so it cannot outlive a change to either, nor to how files are read. Only passing
verdicts are kept: a document that breaks the schema is always validated, and its findings
never come from the cache. `STATEMACHINE_NO_CACHE=1` turns the cache off; a cache folder
that cannot be read or written is not used, silently.
"""

from __future__ import annotations

import atexit
import json
import os
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from statemachine.io.yamldoc import Document, PathKey
from statemachine.model.finding import Finding, rule

try:  # BLAKE2 is built into CPython: `hashlib` would load OpenSSL first (2 ms at start-up)
    from _blake2 import blake2b
except ImportError:  # a build without its own hashes (some FIPS builds): OpenSSL's
    from hashlib import blake2b

if TYPE_CHECKING:
    import jsonschema

__all__ = ["CALLBACK_KEYS", "schema", "schema_findings"]

UNKNOWN_KEY = rule(
    "SM010",
    "unknown-key",
    "Only the keys the format defines are allowed; a misspelt key would otherwise be "
    "ignored silently. The message lists the allowed keys and the nearest one.",
)
WRONG_TYPE = rule(
    "SM011",
    "wrong-type",
    "Each key takes one kind of value (a mapping, a list, text, true/false).",
)
MISSING_KEY = rule("SM012", "missing-key", "A required key is missing (`machine`, `states`, ...).")
INVALID_VALUE = rule(
    "SM013",
    "invalid-value",
    "A value has the right type but not an allowed form: a name with a control character "
    "or leading or trailing whitespace, a trigger that is not a Python identifier, an empty "
    "text, a malformed duration, both `documented` and `inferred` in one evidence.",
)
CALLBACK = rule(
    "SM014",
    "callback-not-allowed",
    "Definitions are data, never code. transitions resolves callback names such as "
    "`os.system` by importing them, so callback keys (`before`, `after`, `prepare`, "
    "`unless`, `on_enter`, `on_exit`, ...) are refused; use `conditions` naming a declared "
    "guard, whose code the embedding application registers in Python.",
)

CALLBACK_KEYS = frozenset(
    {
        "before",
        "after",
        "prepare",
        "unless",
        "on_enter",
        "on_exit",
        "on_timeout",
        "timeout",
        "on_final",
        "on_exception",
        "before_state_change",
        "after_state_change",
        "prepare_event",
        "finalize_event",
        "model",
    }
)

_KIND = {
    "object": "a mapping",
    "array": "a list",
    "string": "text",
    "boolean": "true or false",
    "null": "empty",
    "integer": "a whole number",
    "number": "a number",
}


#: at most this many verdicts are kept (about 260 KiB); the oldest are dropped first
CACHE_ENTRIES = 4096
_CACHE_FILE = "schema-passed"
#: verdicts found in this process, written to the cache file when it ends
_passed: list[str] = []


@cache
def _schema_text() -> bytes:
    return (Path(__file__).parent.parent / "schema" / "machine.schema.json").read_bytes()


@cache
def schema() -> dict[str, Any]:
    """The JSON Schema shipped with the package."""
    loaded: dict[str, Any] = json.loads(_schema_text())
    return loaded


@cache
def _validator() -> jsonschema.protocols.Validator:
    import jsonschema  # imported when first needed: start-up time matters

    cls = jsonschema.validators.validator_for(schema())
    return cls(schema())


def _kind(value: Any) -> str:
    for name, kind in (
        ("null", type(None)),
        ("boolean", bool),
        ("integer", int),
        ("number", float),
        ("string", str),
        ("array", list),
        ("object", dict),
    ):
        if isinstance(value, kind):
            return _KIND[name]
    return type(value).__name__


def _where(path: PathKey) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return f"'{text}'" if text else "the top level"


def _unknown_keys(doc: Document, err: jsonschema.ValidationError) -> Iterator[Finding]:
    import difflib  # imported when first needed: start-up time matters

    path = tuple(err.absolute_path)
    part: Any = err.schema
    allowed = sorted(part.get("properties", {}))
    instance: Any = err.instance
    for key in instance:
        if key in allowed:
            continue
        where = doc.at((*path, key), key=True)
        if key in CALLBACK_KEYS:
            yield CALLBACK.at(
                where,
                f"callback key '{key}' in {_where(path)} is not allowed: definitions are data; "
                "name a declared guard in `conditions` and register its code in Python",
            )
            continue
        near = difflib.get_close_matches(str(key), allowed, n=1)
        hint = f"did you mean '{near[0]}'? " if near else ""
        yield UNKNOWN_KEY.at(
            where,
            f"unknown key '{key}' in {_where(path)}; {hint}allowed: {', '.join(allowed)}",
        )


def _finding(doc: Document, err: jsonschema.ValidationError) -> Iterator[Finding]:
    path = tuple(err.absolute_path)
    where = doc.at(path)
    validator: Any = err.validator
    value: Any = err.instance
    expected: Any = err.validator_value
    if validator == "additionalProperties":
        yield from _unknown_keys(doc, err)
    elif validator == "required":
        missing = [key for key in expected if key not in value]
        for key in missing:
            yield MISSING_KEY.at(where, f"{_where(path)} needs the key '{key}'")
    elif validator == "type":
        kinds = " or ".join(
            _KIND[t] for t in (expected if isinstance(expected, list) else [expected])
        )
        yield WRONG_TYPE.at(where, f"{_where(path)} must be {kinds}, not {_kind(value)}")
    elif validator == "anyOf":
        needs = " or ".join(f"'{option['required'][0]}'" for option in expected)
        yield MISSING_KEY.at(where, f"{_where(path)} needs the key {needs}")
    elif validator == "pattern" and "propertyNames" in err.relative_schema_path:
        yield INVALID_VALUE.at(
            doc.at((*path, value), key=True),
            f"name {value!r} in {_where(path)} is not allowed: " + _pattern_hint((*path, value)),
        )
    elif validator == "pattern":
        yield INVALID_VALUE.at(
            where, f"{_where(path)} value {value!r} has the wrong form: " + _pattern_hint(path)
        )
    elif validator == "enum":
        options = ", ".join(json.dumps(v) for v in expected)
        yield INVALID_VALUE.at(where, f"{_where(path)} must be one of {options}")
    elif validator in ("minLength", "minItems", "minProperties"):
        yield INVALID_VALUE.at(where, f"{_where(path)} must not be empty")
    elif validator == "maxProperties":
        yield INVALID_VALUE.at(
            where, f"{_where(path)} gives more than one kind; keep `documented` or `inferred`"
        )
    elif validator == "uniqueItems":
        yield INVALID_VALUE.at(where, f"{_where(path)} lists an item twice; remove the repeat")
    else:  # pragma: no cover - every keyword the schema uses is handled above
        yield INVALID_VALUE.at(where, f"{_where(path)}: {err.message}")


def _pattern_hint(path: PathKey) -> str:
    last = path[-1] if path else ""
    if last in ("machine", "keys", "values"):
        return (
            "use a dotted name, provider first, such as 'twilio.call', without whitespace, "
            "slashes or control characters"
        )
    if last == "stale_after":
        return "use a duration such as '90s', '15m', '2h' or '1d12h'"
    if path and path[0] in ("guards", "settings", "mappings", "transitions"):
        return "use a Python identifier: letters, digits and underscores, not starting with a digit"
    return (
        "spell it as the provider does, without control characters and without leading or "
        "trailing whitespace"
    )


def schema_findings(doc: Document) -> list[Finding]:
    """Every way `doc.data` breaks the schema, as findings at the offending spot."""
    key = _verdict_key(doc.data)
    if key is not None and key in _remembered():
        return []
    findings: list[Finding] = []
    for err in _validator().iter_errors(doc.data):
        findings.extend(_finding(doc, err))
    if key is not None and not findings:
        _remember(key)
    return sorted(set(findings))


def _verdict_key(data: Any) -> str | None:
    """A hash of the schema and of `data` (None: the cache is off, or `data` is not plain JSON
    data, which the schema refuses anyway). Mapping keys are always text (`yamldoc`)."""
    if _cache_file() is None:
        return None
    try:
        text = json.dumps(data, separators=(",", ":"))
    except (TypeError, ValueError):  # a date, bytes; an integer too long to print
        return None
    digest = blake2b(_schema_text(), digest_size=32)  # 64 hex digits, as the cache file holds
    digest.update(b"\0" + text.encode())
    return digest.hexdigest()


@cache
def _cache_file() -> Path | None:
    if os.environ.get("STATEMACHINE_NO_CACHE", "") not in ("", "0"):
        return None
    base = os.environ.get("XDG_CACHE_HOME", "")
    try:
        folder = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    except RuntimeError:  # no home folder
        return None
    return folder / "statemachine" / _CACHE_FILE


def _read_cache(path: Path) -> list[str]:
    try:
        with path.open("rb") as file:
            raw = file.read(CACHE_ENTRIES * 65)
    except OSError:
        return []
    return [key for key in raw.decode("ascii", errors="replace").split() if len(key) == 64]


@cache
def _remembered() -> set[str]:
    path = _cache_file()
    return set(_read_cache(path)) if path is not None else set()


def _remember(key: str) -> None:
    if not _passed:
        atexit.register(_save)
    _passed.append(key)
    _remembered().add(key)


def _save() -> None:
    """Add this process's verdicts to the cache file, atomically (the last writer wins)."""
    import tempfile

    path = _cache_file()
    if path is None:
        return
    kept = list(dict.fromkeys([*_read_cache(path), *_passed]))[-CACHE_ENTRIES:]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{_CACHE_FILE}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as out:
                out.write("".join(f"{key}\n" for key in kept))
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError:
        pass  # an unwritable cache folder means no cache, never an error
