"""Safe YAML reading that keeps the line and column of every node.

PyYAML's safe loader is used for scalars only; mappings and sequences are
built here so that duplicate keys are reported (PyYAML keeps the last one
silently) and so that size, depth and alias expansion stay bounded whatever
the input.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import yaml

from statemachine.checks.finding import Finding
from statemachine.checks.rule import rule
from statemachine.model.location import Location

__all__ = ["MAX_BYTES", "Document", "PathKey", "read_document"]

MAX_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 200_000

PathKey = tuple[str | int, ...]

_STANDARD_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})

UNREADABLE = rule(
    "SM001",
    "unreadable-yaml",
    "The file must be UTF-8 YAML of bounded size (2 MiB), depth (64) and alias expansion "
    "(200,000 nodes), using only the standard tags of YAML's safe schema.",
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
    values: dict[PathKey, Location] = attrs.field(repr=False)
    keys: dict[PathKey, Location] = attrs.field(repr=False)
    findings: tuple[Finding, ...] = ()

    def at(self, path: PathKey, *, key: bool = False) -> Location:
        """The location of the value (or key) at `path`, else of its nearest ancestor."""
        table = self.keys if key else self.values
        for end in range(len(path), -1, -1):
            found = table.get(path[:end]) or self.values.get(path[:end])
            if found is not None:
                return found
        return Location(self.file)


def _location(file: str, mark: Any) -> Location:
    if mark is None:
        return Location(file)
    return Location(file, mark.line + 1, mark.column + 1)


def _offset_location(file: str, text: str | bytes, offset: int) -> Location:
    before = text[:offset]
    newline = "\n" if isinstance(before, str) else b"\n"
    line = before.count(newline) + 1  # type: ignore[arg-type]
    col = offset - (before.rfind(newline) + 1)  # type: ignore[arg-type]
    return Location(file, line, col + 1)


class _Builder:
    """Turns a composed node graph into plain data and location tables."""

    def __init__(self, file: str, loader: yaml.SafeLoader) -> None:
        self.file = file
        self.loader = loader
        self.values: dict[PathKey, Location] = {}
        self.keys: dict[PathKey, Location] = {}
        self.findings: list[Finding] = []
        self.nodes = 0

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _Abort(
                UNREADABLE.at(
                    _location(self.file, node.start_mark),
                    f"the document expands to more than {MAX_NODES} nodes (an alias bomb?); "
                    "write the definition out without nested aliases",
                )
            )
        self.values.setdefault(path, _location(self.file, node.start_mark))
        if node.tag not in _STANDARD_TAGS and not isinstance(node, yaml.ScalarNode):
            raise _Abort(
                UNREADABLE.at(
                    _location(self.file, node.start_mark),
                    f"tags other than YAML's standard ones are not allowed: {node.tag}",
                )
            )
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self.loader.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[Any, Any]:
        self.loader.flatten_mapping(node)  # resolves `<<` merge keys
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            where = _location(self.file, key_node.start_mark)
            if not isinstance(key_node, yaml.ScalarNode):
                raise _Abort(
                    UNREADABLE.at(
                        where, "a mapping key must be a plain value, not a list or mapping"
                    )
                )
            key = self.loader.construct_object(key_node)
            key = key if isinstance(key, str) else str(key)
            if key in result:
                first = self.keys[(*path, key)]
                what = "state" if path == ("states",) else "key"
                self.findings.append(
                    DUPLICATE_KEY.at(
                        where,
                        f"duplicate {what} '{key}' (first defined at line {first.line}); "
                        "remove or rename one of them",
                    )
                )
                continue
            self.keys[(*path, key)] = where
            result[key] = self.build(value_node, (*path, key))
        return result


def _check_shape(file: str, text: str) -> None:
    """Bound depth and aliases on the event stream, before anything is built."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _Abort(
                    UNREADABLE.at(
                        _location(file, event.start_mark),
                        f"nesting deeper than {MAX_DEPTH} levels; a definition needs a handful",
                    )
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


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
        if isinstance(err, yaml.constructor.ConstructorError) and "tag" in problem:
            problem = "tags other than YAML's standard ones are not allowed: " + problem
        return UNREADABLE.at(_location(file, mark), f"invalid YAML: {problem}{context}")
    return UNREADABLE.at(Location(file), f"invalid YAML: {err}")


def read_document(path: Path, display: str | None = None) -> Document:
    """Read one YAML file; every problem becomes a finding, never an exception."""
    file = display or str(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as err:
        return _failed(file, UNREADABLE.at(Location(file), f"cannot read file: {err.strerror}"))
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
    try:
        _check_shape(file, text)
        loader = yaml.SafeLoader(text)
        try:
            root = loader.get_single_node()
            builder = _Builder(file, loader)
            data = None if root is None else builder.build(root, ())
        finally:
            loader.dispose()
    except _Abort as stop:
        return _failed(file, stop.finding)
    except yaml.YAMLError as err:
        return _failed(file, _yaml_error(file, text, err))
    except RecursionError:
        return _failed(file, UNREADABLE.at(Location(file), "the document nests too deeply"))
    return Document(file, data, builder.values, builder.keys, tuple(builder.findings))


def _failed(file: str, finding: Finding) -> Document:
    return Document(file, None, {}, {}, (finding,))


def walk(data: Any, path: PathKey = ()) -> Iterator[tuple[PathKey, Any]]:
    """Every (path, value) pair in plain data, depth first."""
    yield path, data
    if isinstance(data, dict):
        for key, value in data.items():
            yield from walk(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from walk(value, (*path, i))
