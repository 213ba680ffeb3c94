"""What is wrong with an input, told so a person can act on it: where, what, the fix.

A `Problem` is one thing wrong at a path inside a file (`integrations[3].schedule`); a
`RoadmapError` carries every problem found in one pass. pydantic's validation errors
become problems in plain words: what is allowed, what was written, the fix. This is the
one place where an error type becomes a sentence, so every model (roadmap, stack
settings) and every field added later gets the same wording without repeating it:

    plain_message(error)  # "must be a whole number, at least 1; got 0"

Values are shown as a person wrote them in YAML (`2027-06-18`, `true`, `'Quote_To_Order'`),
never as Python objects. Regular expressions never reach the user: a pattern is declared
with its rule in words through `allowed_pattern`, and a value that breaks it is answered
with those words and, where one exists, a corrected value that would pass.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

__all__ = [
    "Problem",
    "RoadmapError",
    "allowed_pattern",
    "as_written",
    "format_loc",
    "pattern_words",
    "plain_message",
    "pydantic_problems",
]

_PATTERN_WORDS: dict[str, str] = {}


def allowed_pattern(pattern: str, words: str) -> str:
    """Declare a field pattern together with what it allows in words; returns the pattern."""
    _PATTERN_WORDS[pattern] = words
    return pattern


def pattern_words(pattern: str) -> str | None:
    return _PATTERN_WORDS.get(pattern)


def as_written(value: Any) -> str:
    """A value as it would appear in YAML: dates ISO, booleans lower-case, text in quotes."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return "''" if not value else repr(shown)
    if isinstance(value, int | float):
        return f"{value}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def _kind(value: Any) -> str:
    """What a YAML value is, in words, for 'expected X; got Y' messages."""
    if isinstance(value, dict | list | tuple) or value is None:
        return as_written(value)
    if isinstance(value, bool):
        return f"the boolean {as_written(value)}"
    if isinstance(value, dt.date):
        return f"the date {as_written(value)}"
    if isinstance(value, int | float):
        return f"the number {as_written(value)}"
    return f"the text {as_written(value)}"


def _slug(value: str) -> str:
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]+", "-", value.strip().lower())).strip("-")


def _pattern(value: Any, pattern: str) -> str:
    words = _PATTERN_WORDS.get(pattern, "a value of the documented form")
    message = f"{as_written(value)} is not allowed: use {words}"
    if isinstance(value, str):
        candidate = _slug(value)
        if candidate and candidate != value and re.fullmatch(pattern, candidate):
            message += f"; for example '{candidate}'"
    return message


def _choices(expected: str) -> list[str]:
    return re.findall(r"'([^']*)'", expected) or [expected]


def _one_of(value: Any, expected: str) -> str:
    choices = _choices(expected)
    message = f"{as_written(value)} is not one of the allowed values: {', '.join(choices)}"
    if isinstance(value, str):
        close = difflib.get_close_matches(value.lower(), choices, n=1, cutoff=0.6)
        if close:
            message += f"; did you mean '{close[0]}'?"
    return message


def _bounds(kind: str, ctx: dict[str, Any], value: Any) -> str:
    limit = next(iter(ctx.values()))
    allowed, fix = {
        "greater_than_equal": (f"at least {limit}", f"{limit} or more"),
        "greater_than": (f"more than {limit}", f"more than {limit}"),
        "less_than_equal": (f"at most {limit}", f"{limit} or less"),
        "less_than": (f"less than {limit}", f"less than {limit}"),
    }[kind]
    return f"must be {allowed}; got {as_written(value)}, change it to {fix}"


_EXPECTED = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number (no fraction)",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "dict_type": "a mapping of keys to values",
    "model_type": "a mapping of keys to values",
    "model_attributes_type": "a mapping of keys to values",
    "list_type": "a list",
    "tuple_type": "a list",
    "set_type": "a list",
    "frozen_set_type": "a list",
    "url_type": "a URL such as https://example.com/path",
    "url_parsing": "a URL such as https://example.com/path",
    "url_scheme": "a URL starting with http:// or https://",
    "date_type": "a date written YYYY-MM-DD",
    "date_parsing": "a date written YYYY-MM-DD",
    "date_from_datetime_parsing": "a date written YYYY-MM-DD",
}


_FIXED = {
    "missing": "required but missing; add it",
    "extra_forbidden": "unknown key; remove it or check its spelling against the roadmap schema",
}
_BOUNDS = frozenset({"greater_than_equal", "greater_than", "less_than_equal", "less_than"})
_LENGTHS = frozenset({"string_too_short", "string_too_long", "too_short", "too_long"})


def _length(kind: str, value: Any, ctx: dict[str, Any]) -> str:
    """A text's or a list's length out of its bounds."""
    if kind == "string_too_short":
        if not value and ctx["min_length"] == 1:
            return "must not be empty; write a value"
        return f"must be at least {ctx['min_length']} characters; got {as_written(value)}"
    if kind == "string_too_long":
        return (
            f"is {len(value)} characters, at most {ctx['max_length']} are allowed; shorten it"
            if isinstance(value, str)
            else f"is too long: at most {ctx['max_length']} characters"
        )
    if kind == "too_short":
        need = ctx.get("min_length", 1)
        items = "1 item; add one" if need == 1 else f"{need} items; add more"
        return f"needs at least {items}"
    return f"has {ctx.get('actual_length')} items, at most {ctx.get('max_length')} are allowed"


def _wrong_type(kind: str, value: Any) -> str:
    message = f"expected {_EXPECTED[kind]}; got {_kind(value)}"
    if kind == "string_type" and isinstance(value, int | float | dt.date):
        message += f"; put it in quotes ('{as_written(value)}') if you mean that text"
    return message


def plain_message(error: ErrorDetails) -> str:
    """One pydantic error as a sentence saying what is allowed and how to fix it."""
    kind = error["type"]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    value = error.get("input")
    if kind in _FIXED:
        return _FIXED[kind]
    if kind == "string_pattern_mismatch":
        return _pattern(value, str(ctx["pattern"]))
    if kind in ("enum", "literal_error"):
        return _one_of(value, str(ctx.get("expected", "")))
    if kind in _BOUNDS and ctx:
        return _bounds(kind, ctx, value)
    if kind in _LENGTHS:
        return _length(kind, value, ctx)
    if kind in _EXPECTED:
        return _wrong_type(kind, value)
    msg = str(error["msg"]).removeprefix("Value error, ")
    # Our own validators already say what to do; add the value when they do not show it.
    if value is not None and not isinstance(value, dict | list) and as_written(value) not in msg:
        msg += f" (got {as_written(value)})"
    return msg


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the roadmap: where (a path inside the file) and what to do."""

    loc: str
    msg: str

    def render(self, source: str = "roadmap.yaml") -> str:
        return f"{source}: {self.loc}: {self.msg}" if self.loc else f"{source}: {self.msg}"


class RoadmapError(Exception):
    """The roadmap could not be used; `problems` lists every reason found in one pass."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = problems
        super().__init__("\n".join(p.render(source) for p in problems))


def format_loc(loc: Iterable[str | int]) -> str:
    """Render a location: ('integrations', 3, 'schedule') -> 'integrations[3].schedule'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def pydantic_problems(err: ValidationError) -> list[Problem]:
    """Each of pydantic's errors as a Problem at its location, in plain words."""
    problems = []
    for e in err.errors(include_url=False):
        # Drop pydantic's internal tags (e.g. 'function-after[...]') from the location.
        loc = [p for p in e["loc"] if not (isinstance(p, str) and "[" in p)]
        problems.append(Problem(format_loc(loc), plain_message(e)))
    return problems
