"""Safe YAML reading that keeps the line and column of every key and value.

The file is parsed once into events (by libyaml's C parser when PyYAML has it, else by
PyYAML's pure-Python parser) and plain data is built here from the events, so that:

- reading never raises: a syntax error, a value that cannot be built (`!!int x`, the date
  `2024-13-01`, an integer past Python's digit limit) or a broken bound is a finding at its
  line and column, and the rest of the folder is still checked;
- size, nesting depth, scalar length and the number of nodes after alias *and* merge-key
  (`<<`) expansion are bounded, and the work done is linear in the counted nodes (aliased
  data is shared, never copied);
- a repeated key is a finding (PyYAML keeps the last one silently);
- every mapping key is a name, taken as written: YAML 1.1 makes booleans, nulls and numbers
  of plain `on`, `off`, `yes`, `no`, `y`, `n`, `true`, `~`, `null`, `42`, `0x1F`, but as a key
  each is the text it spells (`on:` under `states` is the state 'on'). Values keep YAML's
  types: `final: yes` is true, `final: "yes"` is text.

A syntax error found by libyaml is reported from the pure-Python parser's reading of the
same text, and a text holding tabs or characters YAML forbids is read by PyYAML alone (the
parsers disagree on some of them), so both paths give the same findings, byte for byte, on
every input we know of. They still differ on a few rare invalid inputs (about 1 in 1,000 of
the fuzzer's mutations: `benchmarks/fuzz.py --compare`).
"""

from __future__ import annotations

import binascii
import sys
from pathlib import Path
from typing import Any

import attrs
import yaml
import yaml.constructor
import yaml.resolver

from statemachine.io.files import NotRegularFile, read_regular
from statemachine.model.finding import Finding, rule
from statemachine.model.location import Location

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_SCALAR",
    "Document",
    "PathKey",
    "read_document",
]

MAX_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 200_000
MAX_SCALAR = 16 * 1024

PathKey = tuple[str | int, ...]
#: a 1-based (line, column); made a `Location` only when asked for, as most never are
Mark = tuple[int, int]

#: the event source: libyaml's parser when PyYAML was built with it
FAST: type[yaml.SafeLoader] | None = getattr(yaml, "CSafeLoader", None)

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {
    f"{_TAG}{name}": kind
    for name, kind in (
        ("str", "text"),
        ("null", "empty"),
        ("bool", "true or false"),
        ("int", "a whole number"),
        ("float", "a number"),
        ("timestamp", "a date or time"),
        ("binary", "base64 data"),
    )
}
_MAP, _SEQ, _STR = f"{_TAG}map", f"{_TAG}seq", f"{_TAG}str"
_MERGE, _VALUE = f"{_TAG}merge", f"{_TAG}value"
_TEXT_TAGS = frozenset((_STR, _MERGE, _VALUE))  # values read as their text
_UNUSED_TAGS = frozenset(f"{_TAG}{name}" for name in ("set", "omap", "pairs"))
#: tabs and characters YAML forbids: libyaml accepts some that PyYAML refuses, so a text
#: holding any is read by PyYAML alone (definitions never need them); PyYAML's own compiled
#: pattern, as compiling one costs 2 ms at start-up
_FORBIDDEN = yaml.reader.Reader.NON_PRINTABLE
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_RESOLVER: Any = yaml.resolver.Resolver()  # untyped
#: the resolver's patterns by the first character they can match (None: any)
_IMPLICIT: dict[str | None, Any] = _RESOLVER.yaml_implicit_resolvers

UNREADABLE = rule(
    "SM001",
    "unreadable-yaml",
    "The file must be a regular file of UTF-8 YAML of bounded size (2 MiB), depth (64), "
    "scalar length (16,384 characters) and alias or merge-key expansion (200,000 nodes), "
    "using only the standard tags of YAML's safe schema, each value readable as its type "
    "(`!!int x` or the date `2024-13-01` is not): quote a value to keep it as text.",
)
DUPLICATE_KEY = rule(
    "SM002",
    "duplicate-key",
    "A key may appear once in a mapping: YAML loaders silently keep the last value, "
    "so a second key hides the first. Under `states` this is a duplicate state.",
)


class _Abort(Exception):
    """Stops reading with one finding."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.message)
        self.finding = finding


@attrs.frozen
class Document:
    """Plain data read from one file, with the location of every key and value."""

    file: str
    data: Any
    values: dict[PathKey, Mark] = attrs.field(repr=False)
    keys: dict[PathKey, Mark] = attrs.field(repr=False)
    findings: tuple[Finding, ...] = ()

    def at(self, path: PathKey, *, key: bool = False) -> Location:
        """The location of the value (or key) at `path`, else of its nearest ancestor."""
        table = self.keys if key else self.values
        for end in range(len(path), -1, -1):
            found = table.get(path[:end]) or self.values.get(path[:end])
            if found is not None:
                return Location(self.file, *found)
        return Location(self.file)


def _offset_location(file: str, text: str | bytes, offset: int) -> Location:
    before = text[:offset]
    newline = "\n" if isinstance(before, str) else b"\n"
    line = before.count(newline) + 1  # type: ignore[arg-type]
    col = offset - (before.rfind(newline) + 1)  # type: ignore[arg-type]
    return Location(file, line, col + 1)


def _shown(text: str) -> str:
    """A scalar quoted for a message: control characters escaped, long text shortened."""
    return repr(text if len(text) <= 60 else text[:57] + "...")


class _Node:
    """A finished node: its data, its size after expansion, and its text if it is a scalar."""

    __slots__ = ("data", "merge", "size", "text", "where")

    def __init__(
        self, data: Any, size: int, where: Mark, text: str | None = None, merge: bool = False
    ) -> None:
        self.data = data
        self.size = size
        self.where = where
        self.text = text
        self.merge = merge  # the plain key `<<`


class _Collection:
    """A mapping or sequence being built, with what its expansion has counted so far."""

    __slots__ = (
        "anchor",
        "data",
        "drop",
        "key",
        "key_path",
        "merged",
        "merging",
        "path",
        "size",
        "where",
    )

    def __init__(
        self, path: PathKey, data: dict[str, Any] | list[Any], where: Mark, anchor: str | None
    ) -> None:
        self.path = path
        self.data = data
        self.where = where
        self.anchor = anchor
        self.size = 1
        self.key: str | None = None  # in a mapping: the key whose value is being read
        self.key_path = path  # ... and the path of that value
        self.drop = False  # the value being read is a repeated key's: report it, keep the first
        self.merging = False  # the value being read is the one of a `<<` key
        self.merged: list[dict[str, Any]] = []

    def value_path(self) -> PathKey:
        """Where the value being read goes."""
        if isinstance(self.data, list):
            return (*self.path, len(self.data))
        return self.key_path


class _Builder:
    """Plain data and location tables from a stream of parser events."""

    def __init__(self, file: str, loader: yaml.SafeLoader) -> None:
        self.file = file
        self.loader: Any = loader  # PyYAML's parser methods are untyped
        self.values: dict[PathKey, Mark] = {}
        self.keys: dict[PathKey, Mark] = {}
        self.findings: list[Finding] = []
        self.nodes = 0
        self.anchors: dict[str, _Node] = {}
        self.open_anchors: set[str] = set()
        self.stack: list[_Collection] = []

    def loc(self, where: Mark) -> Location:
        return Location(self.file, *where)

    def too_many(self, where: Mark) -> _Abort:
        return _Abort(
            UNREADABLE.at(
                self.loc(where),
                f"the document expands to more than {MAX_NODES} nodes through aliases "
                "or merge keys (`<<`), an alias bomb?; write the definition out without "
                "nested aliases",
            )
        )

    def not_a_key(self, where: Mark) -> _Abort:
        return _Abort(
            UNREADABLE.at(
                self.loc(where), "a mapping key must be a plain value, not a list or mapping"
            )
        )

    def read(self) -> Any:
        """The single document's data (None for an empty stream)."""
        loader = self.loader
        loader.get_event()  # stream start
        if loader.check_event(yaml.StreamEndEvent):
            return None
        loader.get_event()  # document start
        data = self.document(loader.get_event())
        loader.get_event()  # document end
        if not loader.check_event(yaml.StreamEndEvent):
            raise _Abort(
                UNREADABLE.at(
                    self.loc(_mark(loader.peek_event())),
                    "a second document (`---`) in one file; put each machine in its own file",
                )
            )
        return data

    def document(self, event: Any) -> Any:
        """The data of the root node, which starts with `event`: read up to its end."""
        # the hot loop of reading, dispatched on the event's exact class (both parsers build
        # PyYAML's event classes); a scalar, most events, is put in place by `scalar` itself
        get_event = self.loader.get_event
        stack = self.stack
        while True:
            kind = event.__class__
            if kind is yaml.ScalarEvent:
                if not stack:
                    return self.scalar(event, None)
                self.scalar(event, stack[-1])
            elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                self.start(event, kind is yaml.MappingStartEvent)
            else:
                # an alias, or the end of the mapping or sequence on top of the stack
                node = self.alias(event) if kind is yaml.AliasEvent else self.end()
                if not stack:
                    return node.data
                top = stack[-1]
                if top.key is None and isinstance(top.data, dict):
                    if node.text is None:
                        raise self.not_a_key(node.where)
                    self.key(top, node.text, node.where, node.size, node.merge)
                else:
                    self.add(top, node.data, node.size, node.where)
            event = get_event()

    def start(self, event: Any, is_map: bool) -> None:
        where = _mark(event)
        top = self.stack[-1] if self.stack else None
        if top is not None and top.key is None and isinstance(top.data, dict):
            raise self.not_a_key(where)
        if event.tag not in (None, "!", _MAP if is_map else _SEQ):
            raise _Abort(_tag_problem(self.loc(where), event.tag))
        if len(self.stack) >= MAX_DEPTH:
            raise _Abort(
                UNREADABLE.at(
                    self.loc(where),
                    f"nesting deeper than {MAX_DEPTH} levels; a definition needs a handful",
                )
            )
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.too_many(where)
        path = () if top is None else top.value_path()
        self.values.setdefault(path, where)
        if event.anchor is not None:
            self.open_anchors.add(event.anchor)
        self.stack.append(_Collection(path, {} if is_map else [], where, event.anchor))

    def end(self) -> _Node:
        done = self.stack.pop()
        if done.merged:
            _merge(done, self.keys)
        node = _Node(done.data, done.size, done.where)
        if done.anchor is not None:
            self.anchors[done.anchor] = node
            self.open_anchors.discard(done.anchor)
        return node

    def alias(self, event: Any) -> _Node:
        name = event.anchor
        where = _mark(event)
        found = self.anchors.get(name)
        if found is None:
            problem = (
                "refers to the list or mapping that holds it"
                if name in self.open_anchors
                else f"has no anchor &{name} before it"
            )
            raise _Abort(UNREADABLE.at(self.loc(where), f"alias *{name} {problem}"))
        self.nodes += found.size
        if self.nodes > MAX_NODES:
            raise self.too_many(where)
        top = self.stack[-1] if self.stack else None
        if top is None:
            self.values.setdefault((), where)
        elif not (top.key is None and isinstance(top.data, dict)):
            self.values.setdefault(top.value_path(), where)
        return _Node(found.data, found.size, where, found.text)

    def scalar(self, event: Any, top: _Collection | None) -> Any:
        """Read a scalar and put it in `top` (its data when it is the root)."""
        text: str = event.value
        mark = event.start_mark
        where = (mark.line + 1, mark.column + 1)  # `_mark`, inline: most events are scalars
        if len(text) > MAX_SCALAR:
            raise _Abort(
                UNREADABLE.at(
                    self.loc(where),
                    f"a value of {len(text)} characters (at most {MAX_SCALAR}); "
                    "is this a definition?",
                )
            )
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.too_many(where)
        tag = event.tag
        untagged = tag is None or tag == "!"
        if top is not None and top.key is None and isinstance(top.data, dict):
            # a key is a name, whatever YAML 1.1 would make of its text
            if not untagged and tag != _STR:
                self.findings.append(
                    UNREADABLE.at(
                        self.loc(where),
                        f"a key is a name, written as text: remove the tag {_short(tag)} "
                        f"from {_shown(text)}",
                    )
                )
            # so its tag matters only to tell the merge key: the plain `<<` (the only text
            # the resolver makes one) or a key tagged `!!merge` (reported above)
            if untagged:
                merge = text == "<<" and _resolve(text, event.implicit) == _MERGE
            else:
                merge = tag == _MERGE
            if event.anchor is not None:
                self.anchors[event.anchor] = _Node(text, 1, where, text, merge)
            self.key(top, text, where, 1, merge)
            return text
        if untagged:
            tag = _resolve(text, event.implicit)
        if tag in _TEXT_TAGS:
            data = text  # what PyYAML builds; `<<` and `=` mean something only as keys
        elif tag in _SCALAR_TAGS:
            data = self.construct(event, tag, where)
        else:
            raise _Abort(_tag_problem(self.loc(where), tag))
        self.values.setdefault(() if top is None else top.value_path(), where)
        if event.anchor is not None:
            self.anchors[event.anchor] = _Node(data, 1, where, text)
        if top is not None:
            self.add(top, data, 1, where)
        return data

    def construct(self, event: Any, tag: str, where: Mark) -> Any:
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        try:
            value = _CONSTRUCTOR.yaml_constructors[tag](_CONSTRUCTOR, node)
            if tag == _INT and _too_long(value):
                # hex, octal, binary and base 60 are built without Python's decimal digit
                # limit, which then breaks whatever prints the number (the schema's messages)
                raise ValueError("exceeds the limit for integer string conversion: digits")
            return value
        except _BAD_VALUE as err:
            self.findings.append(UNREADABLE.at(self.loc(where), _bad_value(event, tag, err)))
            return event.value  # keep reading: every bad value in the file is reported

    def add(self, top: _Collection, data: Any, size: int, where: Mark) -> None:
        """Put a finished value into `top`, the collection on top of the stack."""
        top.size += size
        if isinstance(top.data, list):
            top.data.append(data)
        elif top.drop:
            top.key, top.drop = None, False
        elif top.merging:
            top.key, top.merging = None, False
            sources = data if isinstance(data, list) else [data]
            if not all(isinstance(source, dict) for source in sources):
                raise _Abort(
                    UNREADABLE.at(
                        self.loc(where),
                        "a merge key `<<` takes a mapping or a list of mappings (aliases)",
                    )
                )
            top.merged.extend(sources)
        else:
            top.data[top.key] = data  # type: ignore[index]
            top.key = None

    def key(self, top: _Collection, text: str, where: Mark, size: int, merge: bool) -> None:
        """Make `text` the key of the next value of mapping `top`."""
        top.size += size
        path = top.key_path = (*top.path, text)
        top.key = text
        first = self.keys.get(path)
        if first is not None:
            what = "state" if top.path == ("states",) else "key"
            self.findings.append(
                DUPLICATE_KEY.at(
                    self.loc(where),
                    f"duplicate {what} {_shown(text)} (first defined at line "
                    f"{first[0]}); remove or rename one of them",
                )
            )
            top.drop = True
            return
        self.keys[path] = where
        top.merging = merge


def _resolve(text: str, implicit: tuple[bool, bool]) -> str:
    """The tag YAML 1.1 gives an untagged scalar, as PyYAML's resolver does; most are plain
    text whose first character starts none of its patterns, so it is asked only about the
    others (the resolver's table is read live: what it holds is what it matches)."""
    if implicit[0] and (not text or text[0] in _IMPLICIT or None in _IMPLICIT):
        resolved: str = _RESOLVER.resolve(yaml.ScalarNode, text, implicit)
        return resolved
    return _STR  # a quoted scalar (or `!`-tagged) is text: the resolver's default


_BAD_VALUE = (
    ValueError,
    LookupError,
    AttributeError,
    TypeError,
    OverflowError,
    binascii.Error,
    yaml.constructor.ConstructorError,
)


def _merge(done: _Collection, keys: dict[PathKey, Mark]) -> None:
    """Merge-key semantics as PyYAML's: the mapping's own keys win, then the earlier
    source; keys come in PyYAML's order (the last source's first)."""
    data = done.data
    assert isinstance(data, dict)
    own = dict(data)
    data.clear()
    for source in reversed(done.merged):
        data.update(source)
    data.update(own)
    for key in data:
        keys.setdefault((*done.path, key), done.where)


_INT = f"{_TAG}int"


def _too_long(value: Any) -> bool:
    """Whether int `value` has more decimal digits than Python will convert to text."""
    limit = sys.get_int_max_str_digits()
    # bit_length bounds the digits within one: compare exactly only near the limit
    return bool(limit) and value.bit_length() > limit * 3 and abs(value) >= 10**limit


def _bad_value(event: Any, tag: str, err: Exception) -> str:
    text = _shown(event.value)
    implicit = event.tag in (None, "!")  # the type was resolved from the value's form
    fix = "quote it to keep it as text" if implicit else "remove the tag or fix the value"
    if tag == _INT and "digits" in str(err):
        limit = sys.get_int_max_str_digits()
        return f"the whole number {text} has more than {limit} digits; {fix}"
    if implicit:
        return f"{text} looks like {_SCALAR_TAGS[tag]} but is not a valid one; {fix}"
    return f"{_short(tag)} value {text} is not {_SCALAR_TAGS[tag]}; {fix}"


def _tag_problem(where: Location, tag: str) -> Finding:
    if tag in (_MAP, _SEQ) or tag in _SCALAR_TAGS:
        return UNREADABLE.at(where, f"the tag {_short(tag)} does not fit this value; remove it")
    if tag in _UNUSED_TAGS:
        return UNREADABLE.at(
            where,
            f"the tag {_short(tag)} is not used in definitions; write a plain list or mapping",
        )
    return UNREADABLE.at(
        where, f"tags other than YAML's standard ones are not allowed: {_shown(_short(tag))}"
    )


def _mark(event: Any) -> Mark:
    return (event.start_mark.line + 1, event.start_mark.column + 1)


def _short(tag: str) -> str:
    return "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag


def _yaml_error(file: str, text: str, err: yaml.YAMLError) -> Finding:
    if isinstance(err, yaml.reader.ReaderError):
        char = err.character if isinstance(err.character, str) else chr(err.character)
        return UNREADABLE.at(
            _offset_location(file, text, err.position),
            f"character {char!r} is not allowed in YAML; is this a text file?",
        )
    if isinstance(err, yaml.MarkedYAMLError):
        mark = err.problem_mark or err.context_mark
        problem = err.problem or "invalid YAML"
        context = f" ({err.context})" if err.context else ""
        where = Location(file) if mark is None else Location(file, mark.line + 1, mark.column + 1)
        return UNREADABLE.at(where, f"invalid YAML: {problem}{context}")
    return UNREADABLE.at(Location(file), f"invalid YAML: {err}")


def _parse(file: str, text: str, loader_class: type[yaml.SafeLoader]) -> Document:
    """Build the document with events from `loader_class`; YAML errors propagate."""
    loader = loader_class(text)
    try:
        builder = _Builder(file, loader)
        try:
            data = builder.read()
        except _Abort as stop:
            return _failed(file, stop.finding)
        return Document(file, data, builder.values, builder.keys, tuple(builder.findings))
    finally:
        loader.dispose()


def parse_text(file: str, text: str, *, fast: bool = True) -> Document:
    """Read YAML `text` as the document of `file`; every problem becomes a finding.

    `fast` uses libyaml's parser when available; a syntax error is then reported as the
    pure-Python parser words it, so the findings never depend on the parser."""
    if fast and FAST is not None and "\t" not in text and not _FORBIDDEN.search(text):
        try:
            return _parse(file, text, FAST)
        except yaml.YAMLError:
            pass
    try:
        return _parse(file, text, yaml.SafeLoader)
    except yaml.YAMLError as err:
        return _failed(file, _yaml_error(file, text, err))


def read_document(path: Path, display: str | None = None, *, fast: bool = True) -> Document:
    """Read one YAML file; every problem in it becomes a finding, never an exception.

    Raises `UnreadablePath` (an `OSError`) when the file cannot be opened or read at all."""
    file = display or str(path)
    try:
        raw = read_regular(path, MAX_BYTES)
    except NotRegularFile as err:
        return _failed(
            file,
            UNREADABLE.at(Location(file), f"{err} is not a definition file; name a regular file"),
        )
    if len(raw) > MAX_BYTES:
        return _failed(
            file,
            UNREADABLE.at(
                Location(file), f"file is larger than {MAX_BYTES // 1024} KiB; is it a definition?"
            ),
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        return _failed(
            file,
            UNREADABLE.at(
                _offset_location(file, raw, err.start),
                "not valid UTF-8 text; save the file as UTF-8",
            ),
        )
    return parse_text(file, text, fast=fast)


def _failed(file: str, finding: Finding) -> Document:
    return Document(file, None, {}, {}, (finding,))
