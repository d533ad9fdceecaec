"""Masking and tokens: the variable parts of a message, as Spark expressions.

Two steps, both plain Spark SQL (``regexp_replace``, ``split``, ``transform``), compiled into
the stage that reads the files:

1. **Text masks** replace whole variables by ``<*>``, in this order (a later mask never sees
   what an earlier one took): timestamps (syslog style ``Jun 14 15:16:01``, ISO 8601, clock
   times), GUIDs, MAC and IPv4 addresses (with a port), IPv6 addresses, hex numbers (``0x1f``)
   and hex ids of 8 or more digits, double-quoted strings, sizes and durations with a unit
   (``384.0 KB``, ``10ms``), and numbers standing alone.
2. **Tokens**: the masked text is split before each word and after ``=``, ``,``, ``:``, ``(``,
   ``[`` (and before ``)`` and ``]``), keeping each token's trailing space, so a pattern is
   the message itself with ``<*>`` in place of its variables (``uid=<*> euid=<*>``). A token
   holding a mask, ``min_digits`` or more digits (``blk_-6952295868487656571``, ``node-246``,
   ``U11``), a ``/`` (paths, ``pts/0``) or a dotted name of three parts or more
   (``com.tencent.mm``, ``host.example.com``) is a variable of any pattern it appears in;
   the miner decides about the rest (:mod:`.miner`). A token with one digit (``eth0``,
   ``ssh2``) is left to the miner: interfaces and protocol names are constants more often
   than not.

>>> import re
>>> masked = mask_text_python("Accepted password for bob from 10.0.0.7 port 22 ssh2")
>>> masked
'Accepted password for bob from <*> port <*> ssh2'
>>> [t for t in re.split(SPLIT_PATTERN, masked) if t][:4]
['Accepted ', 'password ', 'for ', 'bob ']
"""
from __future__ import annotations

import re
from typing import Dict, List, Sequence, Tuple

WILDCARD = "<*>"
_W = "A-Za-z0-9_"  # \w as Java reads it (ASCII), spelled out so Python and Spark agree

#: (name, Java/Python regex) of the text masks, applied in this order.
TEXT_MASKS: Tuple[Tuple[str, str], ...] = (
    ("timestamp", r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),?\s+)?(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
                  r"\s+\d{1,2},?(?:\s+\d{4})?\s+\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?(?:\s+\d{4})?"
                  r"|\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?"
                  rf"|(?<![{_W}:])\d{{1,2}}:\d{{2}}:\d{{2}}(?:[.,]\d+)?(?![{_W}:])"),
    ("guid", rf"(?<![{_W}-])[0-9a-fA-F]{{8}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{12}}(?![{_W}-])"),
    ("mac", rf"(?<![{_W}:-])(?:[0-9a-fA-F]{{2}}[:-]){{5}}[0-9a-fA-F]{{2}}(?![{_W}:-])"),
    ("ipv4", rf"(?<![{_W}.])\d{{1,3}}(?:\.\d{{1,3}}){{3}}(?::\d{{1,5}})?(?![{_W}.])"),
    ("ipv6", rf"(?<![{_W}:])(?:[0-9a-fA-F]{{1,4}}:){{7}}[0-9a-fA-F]{{1,4}}(?![{_W}:])"
             rf"|(?<![{_W}:])(?:[0-9a-fA-F]{{1,4}}:){{1,6}}:(?:[0-9a-fA-F]{{1,4}}(?::[0-9a-fA-F]{{1,4}}){{0,5}})?(?![{_W}:])"),
    ("hex", rf"(?<![{_W}])0[xX][0-9a-fA-F]+(?![{_W}])|(?<![{_W}])[0-9a-fA-F]{{8,}}(?![{_W}])"),
    ("quoted", r'"[^"]*"'),
    ("size", rf"(?<![{_W}.])[-+]?\d+(?:\.\d+)?\s?(?:[KMGTP]i?B|B|ms|us|ns)(?![{_W}.])"),
    ("number", rf"(?<![{_W}<*>])[-+]?\d+(?:\.\d+)?(?![{_W}<*>])"),
)
MASK_NAMES = tuple(name for name, _ in TEXT_MASKS)
#: what a mask leaves: quoted strings keep their quotes
REPLACEMENT: Dict[str, str] = {"quoted": '"<*>"'}

#: split before each word and around the separators of ``key=value`` and lists (zero width: nothing is lost)
SPLIT_PATTERN = r"(?<=\s)(?=\S)|(?<==)(?=\S)|(?<=[,:(\[])(?=\S)|(?<=\S)(?=[)\]])"
#: a token that is a variable wherever it appears: a mask, a path, a dotted name of three parts or more
_ALWAYS_VARIABLE = r"<\*>|/|[A-Za-z0-9_]\.[A-Za-z0-9_]+\.[A-Za-z0-9_]"


def masks(names: Sequence[str], extra: Sequence[str] = ()) -> List[Tuple[str, str]]:
    """(regex, replacement) passes of the chosen built-in masks, then ``extra`` regexes (one pass each).

    The built-in masks other than ``quoted`` run as one regex: an alternation in their order
    behind one shared gate (no letter, digit or ``_`` before), so the engine tries them only where
    a word starts. Nine passes of the separate regexes took 10.1 s on 77k Syslog messages where
    the two passes (quoted strings, then the rest) take 3.0 s (same machine, load average 9 to 12).
    """
    chosen = set(names)
    out = []
    if "quoted" in chosen:
        out.append((dict(TEXT_MASKS)["quoted"], REPLACEMENT["quoted"]))
    alternatives = [f"(?:{rx})" for name, rx in TEXT_MASKS if name in chosen and name != "quoted"]
    if alternatives:
        out.append((f"(?<![{_W}])(?:{'|'.join(alternatives)})", WILDCARD))
    return out + [(rx, WILDCARD) for rx in extra]


def mask_text(column, rules: Sequence[Tuple[str, str]]):
    """Spark: ``column`` (a message) on one line, trimmed, with every rule's matches replaced."""
    from pyspark.sql import functions as F

    out = F.trim(F.regexp_replace(column.cast("string"), r"[\r\n\t]+", " "))
    for regex, replacement in rules:
        out = F.regexp_replace(out, regex, replacement)
    return out


def mask_text_python(text: str, names: Sequence[str] = MASK_NAMES) -> str:
    """The same masks in Python (for docs and tests; the template uses :func:`mask_text`)."""
    out = re.sub(r"[\r\n\t]+", " ", text).strip()
    for regex, replacement in masks(names):
        out = re.sub(regex, replacement, out)
    return out


def tokens(masked):
    """Spark: the tokens of a masked message (``array<string>``, each with its trailing space)."""
    from pyspark.sql import functions as F

    return F.filter(F.split(masked, SPLIT_PATTERN), lambda t: F.length(t) > 0)


def token_key(token):
    """Spark: a token without its trailing space (what patterns compare)."""
    from pyspark.sql import functions as F

    return F.regexp_replace(token, r"\s+$", "")


def always_variable(key, min_digits: int):
    """Spark: true for a token key that is a variable wherever it appears (see the module docstring)."""
    from pyspark.sql import functions as F

    digits = F.length(F.regexp_replace(key, "[^0-9]", ""))
    return key.rlike(_ALWAYS_VARIABLE) | (digits >= F.lit(min_digits))


def wildcard_like(token):
    """Spark: ``<*>`` with the token's trailing space (so a pattern keeps the message's spacing)."""
    from pyspark.sql import functions as F

    return F.concat(F.lit(WILDCARD), F.regexp_extract(token, r"(\s*)$", 1))


def collapse_wildcards(text):
    """Spark: wildcards next to each other (``<*> <*>``, ``<*><*>``) become one ``<*>`` (for display: a
    pattern is identified by its :func:`skeleton`, which drops them anyway)."""
    from pyspark.sql import functions as F

    return F.regexp_replace(text, r"<\*>(?:\s*<\*>)+", WILDCARD)


def skeleton(pattern):
    """Spark: a pattern without its wildcards, spaces collapsed: what identifies a pattern (:mod:`.merge`)."""
    from pyspark.sql import functions as F

    return F.trim(F.regexp_replace(F.regexp_replace(pattern, r"<\*>", ""), r"\s+", " "))
