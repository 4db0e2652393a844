"""A small parser for ClickHouse type names, shared by parameter binding and result decoding.

Both need to know what a type *is* (``Nullable(DateTime('UTC'))`` is a nullable instant shown in
UTC; ``Enum8('a' = 1)`` maps codes to names), and both engines spell types the same way, so one
parser serves the server backend (which receives type names from clickhouse-driver), the embedded
backend (which decodes chdb's Native output) and the ``{name:Type}`` placeholders.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>'(?:[^'\\]|\\.)*')          # 'quoted', backslash escapes
      | (?P<num>-?\d+(?:\.\d+)?)
      | (?P<ident>[A-Za-z_][A-Za-z0-9_]*|`(?:[^`\\]|\\.)*`)
      | (?P<punct>[(),=])
    )""",
    re.VERBOSE,
)


class TypeParseError(ValueError):
    """A type name that is not valid ClickHouse type syntax."""


@dataclass(frozen=True)
class CHType:
    """One parsed ClickHouse type.

    ``args`` holds nested types (``Array(String)`` → ``(CHType('String'),)``), ``literals`` the
    quoted/number arguments (``DateTime('UTC')`` → ``('UTC',)``, ``Decimal(18, 2)`` → ``(18, 2)``),
    ``enum`` the code → name map of an Enum8/16, ``names`` the element names of a named Tuple.
    """

    name: str
    args: tuple[CHType, ...] = ()
    literals: tuple[str | int, ...] = ()
    enum: tuple[tuple[str, int], ...] = ()
    names: tuple[str | None, ...] = ()
    text: str = field(default="", compare=False)

    @property
    def inner(self) -> CHType:
        """The single wrapped type of Nullable/Array/LowCardinality."""
        return self.args[0]

    @property
    def timezone(self) -> str | None:
        """The explicit time zone of a DateTime/DateTime64, if any."""
        strs = [x for x in self.literals if isinstance(x, str)]
        return strs[0] if strs else None

    def __str__(self) -> str:
        return self.text or self.name


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise TypeParseError(f"cannot parse type {text!r} at position {pos}")
        kind = m.lastgroup
        assert kind is not None
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _unquote(s: str) -> str:
    body = s[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise TypeParseError(f"unexpected end of type {self.text!r}")
        self.i += 1
        return tok

    def expect(self, value: str) -> None:
        _, val = self.take()
        if val != value:
            raise TypeParseError(f"expected {value!r} in type {self.text!r}, got {val!r}")

    def parse_type(self) -> CHType:
        start = self.i
        kind, name = self.take()
        if kind != "ident":
            raise TypeParseError(f"expected a type name in {self.text!r}, got {name!r}")
        args: list[CHType] = []
        literals: list[str | int] = []
        enum: list[tuple[str, int]] = []
        names: list[str | None] = []
        nxt = self.peek()
        if nxt is not None and nxt[1] == "(":
            self.take()
            while True:
                tok = self.peek()
                if tok is None:
                    raise TypeParseError(f"unclosed '(' in type {self.text!r}")
                if tok[1] == ")":
                    self.take()
                    break
                if tok[0] == "str":
                    self.take()
                    after = self.peek()
                    if after is not None and after[1] == "=":
                        self.take()
                        k2, num = self.take()
                        if k2 != "num":
                            raise TypeParseError(f"enum value must be a number in {self.text!r}")
                        enum.append((_unquote(tok[1]), int(num)))
                    else:
                        literals.append(_unquote(tok[1]))
                elif tok[0] == "num":
                    self.take()
                    literals.append(int(float(tok[1])))
                elif tok[0] == "ident":
                    # A named tuple element is "name Type"; anything else is a nested type.
                    if (
                        self.i + 1 < len(self.toks)
                        and self.toks[self.i + 1][0] == "ident"
                        and name == "Tuple"
                    ):
                        _, elem_name = self.take()
                        names.append(elem_name.strip("`"))
                    elif name == "Tuple":
                        names.append(None)
                    args.append(self.parse_type())
                else:
                    raise TypeParseError(f"unexpected {tok[1]!r} in type {self.text!r}")
                sep = self.peek()
                if sep is not None and sep[1] == ",":
                    self.take()
        text = " ".join(v for _, v in self.toks[start : self.i])
        return CHType(
            name=name,
            args=tuple(args),
            literals=tuple(literals),
            enum=tuple(enum),
            names=tuple(names) if any(n is not None for n in names) else (),
            text=text,
        )


@lru_cache(maxsize=1024)
def parse_type(text: str) -> CHType:
    """Parse a ClickHouse type name such as ``Nullable(DateTime('UTC'))``; cached."""
    p = _Parser(text)
    t = p.parse_type()
    if p.peek() is not None:
        raise TypeParseError(f"trailing text in type {text!r}")
    return CHType(t.name, t.args, t.literals, t.enum, t.names, text.strip())


def strip_wrappers(t: CHType) -> CHType:
    """Drop LowCardinality and Nullable wrappers: what the values look like."""
    while t.name in ("LowCardinality", "Nullable"):
        t = t.inner
    return t
