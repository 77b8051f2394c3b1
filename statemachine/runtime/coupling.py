"""Coupled lifecycles at run time: a child's start and a parent's move judged against the
rules of the parent's relation to the child (`statemachine.model.coupling`).

Each machine's own moves stay `Lifecycle.apply`'s business; a `Coupling` judges only what
lies between the two machines, with the semantics of the coupled audit applied to the one
moment the caller is at:

- `judge_start` (SM201 blocks_start): a child entering a status that starts it (its first
  status, or one of the rule's `child_states`) while its parent is in a blocking state;
- `judge_move` (SM202 requires_final, SM203 children_agree): the parent entering a state
  of a rule's `states`, judged against the children as the caller counts them then (a
  repeated status is no move and judges nothing). The audit judges `children_agree` on a
  parent's last status; at run time the move into it is the moment to refuse it.

Every (parent status, child status) and (held, new) pair is looked up in tables made once
per coupling, aliases included: a start, or a move that enters no rule's state, costs two
dictionary lookups and returns the shared `OK`; a move that does reads the caller's counts.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, NoReturn

import attrs

from statemachine.coupled import Coupling as Tables
from statemachine.coupled import Rule
from statemachine.coupled import coupling_of as tables_of
from statemachine.model.coupling import Constraint, Quantity, Related, RuleKind
from statemachine.model.definition import Definition
from statemachine.model.finding import Severity
from statemachine.runtime.errors import DefinitionError
from statemachine.runtime.streams import not_a_state

__all__ = ["OK", "Counts", "Coupling", "Judgement"]

#: children counted by status (a state or an alias -> how many): a mapping, or a callable
#: with no arguments returning one (called only when a rule needs it, at most once a move)
Counts = Mapping[str, int] | Callable[[], Mapping[str, int]]


@attrs.frozen
class Judgement:
    """What a coupled rule says of one start or move: `ok`, else the violated rule's `code`
    (`model.coupling.CODES`), kind, severity and an operator-readable message."""

    ok: bool
    code: str = ""
    rule: RuleKind | None = None
    severity: Severity | None = None
    message: str = ""


#: the judgement of every start and move no rule refuses (shared: nothing is allocated)
OK = Judgement(ok=True)

#: the rule kinds a parent's entry into one of their `states` judges
_ENTRY_KINDS = (RuleKind.REQUIRES_FINAL, RuleKind.CHILDREN_AGREE)
#: counts a judgement has not read (a rule that needs none of them reads it as empty)
_UNREAD: Mapping[str, int] = MappingProxyType({})

#: the counts a quantity accepts, but `all` (which compares with every child)
_BOUNDS = {Quantity.ONE: (1, 1), Quantity.SOME: (1, sys.maxsize), Quantity.NONE: (0, 0)}
_QUANTITY = {
    Quantity.ONE: "exactly one",
    Quantity.SOME: "at least one",
    Quantity.NONE: "no",
    Quantity.ALL: "every (and at least one)",
}


def _values(d: Definition) -> dict[str, str]:
    """Every status value of `d` (a state or an alias) -> the state it means."""
    values = {state: state for state in d.states}
    values.update((alias.name, alias.state) for alias in d.aliases.values())
    return values


def _known(values: Mapping[str, str], value: object) -> bool:
    try:
        return value in values
    except TypeError:  # unhashable: no status
        return False


def _either(states: Iterable[str]) -> str:
    """`a, b or c`."""
    *rest, last = states
    return f"{', '.join(rest)} or {last}" if rest else last


def _listed(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{n} {state}" for state, n in counts.items())


class _Check:
    """One requires_final or children_agree rule, compiled to judge the caller's counts as
    given (aliases among the counted values, no enum compared per call)."""

    __slots__ = ("all", "children", "final", "high", "low", "open", "reached", "rule", "values")

    def __init__(self, compiled: Rule, tables: Tables) -> None:
        values = _values(tables.child)
        rule = self.rule = compiled.constraint
        self.final = rule.kind is RuleKind.REQUIRES_FINAL
        #: requires_final: the values of states that are not final
        self.open = frozenset(v for v, s in values.items() if s not in tables.child_final)
        #: children_agree: the values of the states it counts
        self.values = tuple(v for v, s in values.items() if s in compiled.child_states)
        self.reached = rule.kind is RuleKind.CHILDREN_AGREE and rule.reached
        self.all = rule.quantity is Quantity.ALL
        #: whether it reads the counts by current status (`all` compares with every child)
        self.children = self.final or not self.reached or self.all
        self.low, self.high = _BOUNDS.get(rule.quantity or Quantity.SOME, (1, 0))

    def holds(self, counts: Mapping[str, int], ever: Mapping[str, int]) -> bool:
        if self.final:
            open_ = self.open
            for value, n in counts.items():  # noqa: SIM110 (all() on a generator: ~2x slower)
                if n and value in open_:
                    return False
            return True
        source = ever if self.reached else counts
        counted = 0
        for value in self.values:
            counted += source.get(value, 0)
        if self.all:
            return 1 <= counted == sum(counts.values())
        return self.low <= counted <= self.high


class Coupling:
    """The rules between a parent machine and one related child machine, ready to judge.

    Build one with `statemachine.runtime.coupling(parent, child)`; it holds no entity and is
    safe to share between threads. Statuses are given as the webhooks deliver them (aliases
    resolve); a value that is no status of its machine raises `UnknownStatus` (an
    acknowledgement-only value `AcknowledgementStatus`), as `Lifecycle` does."""

    def __init__(self, parent: Definition, child: Definition) -> None:
        relation = parent.related.get(child.name)
        if relation is None:
            declared = ", ".join(parent.related) or "none"
            raise DefinitionError(
                f"{parent.name} declares no related machine {child.name} (its related "
                f"machines: {declared}); add it under `related:` in {parent.file or parent.name}"
            )
        self.parent = parent
        self.child = child
        self.relation: Related = relation
        self._parent_values = _values(parent)
        self._child_values = _values(child)
        tables = self.tables = tables_of(parent, child)
        # one judgement is returned: the first rule broken, errors before warnings
        rules = sorted(tables.rules, key=lambda r: r.severity is not Severity.ERROR)
        #: parent status (None: no status yet) -> child status -> judgement of its start
        self._starts: dict[str | None, dict[str, Judgement]] = {
            None: dict.fromkeys(self._child_values, OK)
        }
        for value, state in self._parent_values.items():
            self._starts[value] = {
                child_value: self._start(state, child_value, child_state, rules)
                for child_value, child_state in self._child_values.items()
            }
        #: held parent status (None: a new entity) -> new status -> the checks its entry makes
        self._entering: dict[str | None, dict[str, tuple[_Check, ...]]] = {}
        checks = [(r.parent_states, _Check(r, tables)) for r in rules if r.kind in _ENTRY_KINDS]
        entering = {s: tuple(c for on, c in checks if s in on) for s in parent.states}
        for held, held_state in [(None, None), *self._parent_values.items()]:
            self._entering[held] = {
                value: () if state == held_state else entering[state]
                for value, state in self._parent_values.items()
            }

    def _start(
        self, parent_state: str, child_value: str, child_state: str, rules: Iterable[Rule]
    ) -> Judgement:
        for compiled in rules:
            if compiled.kind is not RuleKind.BLOCKS_START:
                continue
            if parent_state not in compiled.parent_states or not compiled.starts(child_state, True):
                continue
            rule = compiled.constraint
            shown = child_state if child_value == child_state else f"{child_value} ({child_state})"
            return Judgement(
                ok=False,
                code=rule.code,
                rule=rule.kind,
                severity=rule.severity,
                message=f"{self.child.name} cannot start at {shown} while its "
                f"{self.parent.name} is {parent_state} ({rule.kind}: no "
                f"{self.child.name} may start while the {self.parent.name} is "
                f"{_either(rule.states)})",
            )
        return OK

    def judge_start(self, parent_status: str | None, child_status: str) -> Judgement:
        """Whether a child may start at `child_status` while its parent is in
        `parent_status` (None: the parent has no status yet, which no rule judges). Call it
        when the child takes its first status, and when it enters one of a rule's
        `child_states` (a lead becoming `active`): a status that is no start is `OK`."""
        try:
            return self._starts[parent_status][child_status]
        except (KeyError, TypeError):
            self._raise_unknown(parent_status, child_status)

    def judge_move(
        self,
        parent_status: str | None,
        new_status: str,
        children: Counts | None = None,
        *,
        reached: Counts | None = None,
    ) -> Judgement:
        """Whether the parent may go from `parent_status` (None: a new parent) to
        `new_status`, given its children as the caller knows them now.

        `children` counts the parent's children by their current status; `reached` counts,
        for each status, the children that ever held it (a child counts once under every
        status it has been through): `children_agree` rules with `reached: true` read it,
        and sum it over their `child_states`, so count a child under one of a rule's
        states only once when it may pass through several. Either may be a callable with no
        arguments (a database count), called only when the move enters a rule's state.
        The legality of the move itself is `Lifecycle.apply`'s verdict, not judged here."""
        try:
            checks = self._entering[parent_status][new_status]
        except (KeyError, TypeError):
            self._raise_unknown(parent_status, new_status, parent=True)
        if not checks:
            return OK
        known = self._child_values.keys()
        counts = ever = _UNREAD
        for check in checks:
            # read inline, each at most once: a call per read costs a tenth of `apply`
            if check.children and counts is _UNREAD:
                counts = children() if callable(children) else children  # type: ignore[assignment]
                if counts is None or not counts.keys() <= known:
                    self._refuse(counts, "children", check.rule)
            if check.reached and ever is _UNREAD:
                ever = reached() if callable(reached) else reached  # type: ignore[assignment]
                if ever is None or not ever.keys() <= known:
                    self._refuse(ever, "reached", check.rule)
            if not check.holds(counts, ever):
                return self._violation(new_status, check.rule, counts, ever)
        return OK

    def _refuse(self, counts: Mapping[str, int] | None, name: str, rule: Constraint) -> NoReturn:
        """Raise `TypeError` for counts not given, `UnknownStatus` for a key that is no
        status of the child."""
        if counts is None:
            raise TypeError(
                f"{self.parent.name} entering {_either(rule.states)} is judged by its "
                f"{self.child.name} children ({rule.kind}): pass {name}= (counts by status, "
                "or a callable returning them)"
            )
        unknown = next(v for v in counts if not _known(self._child_values, v))
        raise not_a_state(self.child, unknown)

    def _violation(
        self, status: str, rule: Constraint, given: Mapping[str, int], given_ever: Mapping[str, int]
    ) -> Judgement:
        """The judgement of a violated `rule` at the parent's entry into `status`, its
        message saying what the counts show."""
        child, parent = self.child.name, self.parent.name
        state = self._parent_values[status]
        counts, ever = self._by_state(given), self._by_state(given_ever)
        if rule.kind is RuleKind.REQUIRES_FINAL:
            open_ = {s: n for s, n in counts.items() if s not in self.tables.child_final}
            total = sum(open_.values())
            message = (
                f"{parent} cannot enter {state} while {total} {child} "
                f"{'is' if total == 1 else 'are'} not final ({_listed(open_)}; "
                f"{rule.kind}: every {child} must be final when the {parent} enters {state})"
            )
        else:
            source = ever if rule.reached else counts
            counted = sum(source.get(s, 0) for s in rule.child_states)
            how = "that reached" if rule.reached else "in"
            total = sum(counts.values())
            found = f"{counted} of {total}" if rule.quantity is Quantity.ALL else str(counted)
            needs = _QUANTITY[rule.quantity or Quantity.SOME]
            message = (
                f"{parent} cannot enter {state}: it needs {needs} {child} {how} "
                f"{_either(rule.child_states)}, found {found} ({rule.kind})"
            )
        return Judgement(
            ok=False, code=rule.code, rule=rule.kind, severity=rule.severity, message=message
        )

    def _by_state(self, counts: Mapping[str, int]) -> dict[str, int]:
        """`counts` with each alias added to its state."""
        tally: dict[str, int] = {}
        for value, n in counts.items():
            if n:
                state = self._child_values[value]
                tally[state] = tally.get(state, 0) + n
        return tally

    def _raise_unknown(
        self, parent_status: object, status: object, parent: bool = False
    ) -> NoReturn:
        """Raise the error for whichever value is no status (`status` is the parent's when
        `parent`, else the child's)."""
        if parent_status is not None and not _known(self._parent_values, parent_status):
            raise not_a_state(self.parent, parent_status)
        raise not_a_state(self.parent if parent else self.child, status)

    @classmethod
    def of(cls, parent: Definition, child: Definition) -> Coupling:
        """The coupling of `parent` and `child`, made once and kept with the parent."""
        kept: dict[str, Any] = parent.derived.setdefault("runtime couplings", {})
        found = kept.get(child.name)
        if found is None or found.child is not child:
            found = kept[child.name] = cls(parent, child)
        assert isinstance(found, Coupling)
        return found
