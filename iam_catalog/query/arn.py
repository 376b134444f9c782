"""Which ARN formats of the catalog a concrete ARN (or an ARN pattern with ``*`` and ``?``)
matches, by IAM's rules.

- An ARN has six parts, ``arn:partition:service:region:account:resource``; only the
  first five colons split it (a resource may hold colons: ``dbuser:cluster/user``).
- A placeholder (``${Region}``) stands for one or more characters; an empty part of a
  format (``arn:${Partition}:s3:::${BucketName}``) matches only an empty part, and a
  placeholder never matches an empty one (``arn:::::trail/x`` is no CloudTrail trail).
- In the resource part a placeholder does not cross ``/`` or ``:``, so
  ``table/mytable`` is a DynamoDB ``table`` and ``table/mytable/stream/x`` a ``stream``,
  not both; except a placeholder named as a path (``${RoleNameWithPath}``), which may.
  When no format of a service matches that strictly, the last placeholder of the
  resource may take ``/`` and ``:`` too (an S3 object key ``folder/file.txt``).
- ``*`` (any characters, none included) and ``?`` (one character) in the asked ARN
  are IAM's wildcards; they do not cross the five separating colons, but ``*`` in the
  resource part does take ``/`` and ``:``.
"""

from __future__ import annotations

import re
from functools import cache

_PLACEHOLDER = re.compile(r"\$\{[^}]*\}")

# A token: (chars, star). chars is a one-character literal, or one of the classes below.
ANY, SEGMENT, SPAN = "\0any", "\0segment", "\0span"
Token = tuple[str, bool]


def split_arn(arn: str) -> list[str] | None:
    """The six parts of an ARN, or None when it is not one."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    return parts


def _format_tokens(part: str, resource: bool, loose: bool) -> tuple[Token, ...]:
    """A format part as tokens; each placeholder is one character of its class, then any
    number more."""
    out: list[Token] = []
    pos = 0
    holders = list(_PLACEHOLDER.finditer(part))
    for n, m in enumerate(holders):
        out.extend((c, False) for c in part[pos : m.start()])
        name = m.group(0).lower()
        if not resource:
            cls = SEGMENT
        elif "path" in name or (
            loose and n == len(holders) - 1 and m.start() > 0 and part[m.start() - 1] in "/:"
        ):
            cls = SPAN
        else:
            cls = SEGMENT
        out.extend(((cls, False), (cls, True)))
        pos = m.end()
    out.extend((c, False) for c in part[pos:])
    return tuple(out)


def _pattern_tokens(part: str) -> tuple[Token, ...]:
    return tuple(
        (ANY, True) if c == "*" else (ANY, False) if c == "?" else (c, False) for c in part
    )


def _meets(a: str, b: str) -> bool:
    """Whether two token character sets share a character."""
    if len(a) == 1 and len(b) == 1:
        return a == b
    if len(a) == 1:
        a, b = b, a
    if len(b) != 1:
        return True  # two classes: both hold letters
    if a == SEGMENT:
        return b not in "/:"
    if a == SPAN:
        return True
    return True  # ANY


def _intersect(fmt: tuple[Token, ...], pat: tuple[Token, ...]) -> bool:
    """Whether some string matches both token sequences."""

    @cache
    def go(i: int, j: int) -> bool:
        if i == len(fmt) and j == len(pat):
            return True
        if i < len(fmt) and fmt[i][1] and go(i + 1, j):
            return True
        if j < len(pat) and pat[j][1] and go(i, j + 1):
            return True
        if i < len(fmt) and j < len(pat) and _meets(fmt[i][0], pat[j][0]):
            fi = i if fmt[i][1] else i + 1
            pj = j if pat[j][1] else j + 1
            if (fi, pj) != (i, j) and go(fi, pj):
                return True
        return False

    return go(0, 0)


def arn_matches(fmt: str, arn: str, *, loose: bool = False) -> bool:
    """Whether the ARN (or ARN pattern) ``arn`` can name a resource of format ``fmt``."""
    f, a = split_arn(fmt), split_arn(arn)
    if f is None or a is None:
        return False
    for n in range(1, 6):
        resource = n == 5
        if not _intersect(_format_tokens(f[n], resource, loose), _pattern_tokens(a[n])):
            return False
    return True
