"""Literal gates for regular expressions: substrings a match cannot do without.

Searching a few hundred characters with a long alternation costs tens of
microseconds; testing whether a short substring occurs costs a fraction of one.
A gate is a set of literals of which every match of the pattern contains at
least one, worked out from the pattern itself, so it can never turn a match
away: when no literal is present, the pattern need not be searched at all.

Where hundreds of gates are tested against one text, a `LiteralIndex` finds
every literal of all of them in a single pass (an Aho-Corasick automaton), and
each gate becomes a set test on what was found.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from typing import Any

import ahocorasick

# The standard library's own regex parser; only used to read patterns once at import.
_sre_parse: Any = importlib.import_module("re._parser")

# Literals shorter than this occur in nearly every text and gate nothing.
MIN_LITERAL = 3

Clause = frozenset[str]  # at least one of these substrings is in every match


def required_clause(pattern: str) -> Clause | None:
    """A set of substrings of which every match of `pattern` holds one, or None.

    None means no useful gate was found (the pattern must always be searched).
    """
    try:
        tree = _sre_parse.parse(pattern)
    except Exception:  # an unreadable pattern is simply never gated
        return None
    return _best(_clauses(list(tree)))


def _name(op: object) -> str:
    return str(op)


def _clauses(items: Sequence[tuple[Any, Any]]) -> list[Clause]:
    """Every clause the sequence `items` requires (any one of them is a valid gate)."""
    out: list[Clause] = []
    run: list[str] = []

    def flush() -> None:
        if len(run) >= MIN_LITERAL:
            out.append(frozenset({"".join(run)}))
        run.clear()

    for op, av in items:
        name = _name(op)
        if name == "LITERAL":
            run.append(chr(av))
            continue
        flush()
        if name == "SUBPATTERN":
            group_flags = av[1] or av[2]
            if not group_flags:
                out.extend(_clauses(list(av[-1])))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") and av[0] >= 1:
            out.extend(_clauses(list(av[2])))
        elif name == "BRANCH":
            union: set[str] = set()
            for alternative in av[1]:
                best = _best(_clauses(list(alternative)))
                if best is None:
                    break
                union |= best
            else:
                out.append(frozenset(union))
    flush()
    return out


def _best(clauses: Iterable[Clause]) -> Clause | None:
    """The most selective clause: fewest literals, then the longest shortest literal."""
    best: Clause | None = None
    best_key: tuple[int, int] | None = None
    for clause in clauses:
        key = (len(clause), -min(map(len, clause)))
        if best_key is None or key < best_key:
            best, best_key = clause, key
    return best


def literal_gate(pattern: str) -> tuple[str, ...] | None:
    """The literals to test before searching `pattern`, shortest first, or None.

    A literal that contains another literal of the gate is dropped: wherever it
    occurs, the shorter one does too.
    """
    clause = required_clause(pattern)
    if clause is None:
        return None
    kept: list[str] = []
    for literal in sorted(clause, key=lambda s: (len(s), s)):
        if not any(shorter in literal for shorter in kept):
            kept.append(literal)
    return tuple(kept)


GateIds = frozenset[int] | None  # a gate as literal numbers of one LiteralIndex


class LiteralIndex:
    """Many literals, all found in one pass over a text.

    Register gates with `gate()`, then call `found()` on each text: a gate opens
    when it is None or shares a number with what `found()` returned.
    """

    __slots__ = ("_automaton", "_numbers")

    def __init__(self) -> None:
        self._numbers: dict[str, int] = {}
        self._automaton: Any = None

    def gate(self, literals: Iterable[str] | None) -> GateIds:
        """The numbers of `literals` in this index (None stays None: never gated)."""
        if literals is None:
            return None
        if self._automaton is not None:
            raise RuntimeError("a LiteralIndex takes no literals once it has been searched")
        return frozenset(self._numbers.setdefault(lit, len(self._numbers)) for lit in literals)

    def found(self, text: str) -> set[int]:
        """The numbers of every registered literal that occurs in `text`."""
        automaton = self._automaton
        if automaton is None:
            automaton = self._automaton = ahocorasick.Automaton()
            for literal, number in self._numbers.items():
                automaton.add_word(literal, number)
            if self._numbers:
                automaton.make_automaton()
        if not self._numbers:
            return set()
        return {number for _, number in automaton.iter(text)}
