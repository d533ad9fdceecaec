"""Process paths as the template compares them: Spark SQL expressions only.

* :func:`path_key`: the path in lower case with ``/`` as ``\\`` and ``\\??\\`` prefixes dropped
  (Windows paths are case-insensitive);
* :func:`file_name`, :func:`folder`: the parts of a path key;
* :func:`folder_template`: the folder with what varies between machines folded, so one install
  is one folder everywhere: a user profile (``c:\\users\\*\\appdata\\...``, but ``public`` and
  ``default`` stay), a WinSxS component, a GUID (``{guid}``) and a version or hash (``#``);
* :func:`stem` and :func:`extension`: the name without and with its run of executable extensions
  (``svchost.exe.exe`` -> ``svchost``, ``.exe.exe``);
* :func:`skeleton`: the stem with look-alike characters made one (``0`` -> ``o``; ``1``, ``i``,
  ``I`` -> ``l``; ``rn`` -> ``m``; ``vv`` -> ``w``; Cyrillic and Greek letters that look Latin ->
  the Latin letter), so ``svch0st``, ``rundII32`` and a Cyrillic ``ѕvchost`` have the skeleton of
  the name they imitate;
* :func:`deletion_keys`: the blocking keys of a skeleton (itself and what is left after deleting
  one or two of its letters): two skeletons within k edits share a key of deletions <= k, so
  candidate pairs come from an equi-join on the key instead of comparing every pair;
* :func:`edit_distance`: the distance of a candidate pair, Spark's ``levenshtein`` with a
  threshold, where swapping two adjacent letters counts one edit.
"""
from __future__ import annotations

EXECUTABLE_EXTENSIONS = ("exe", "com", "scr", "pif", "bat", "cmd", "cpl", "msc", "vbs", "vbe", "js", "jse", "ps1",
                         "hta", "dll", "bin", "tmp", "dat")
_EXTENSIONS = "(\\.(" + "|".join(EXECUTABLE_EXTENSIONS) + "))+$"

# Look-alike characters -> the letter they pass for (after lower-casing): digits, and the Cyrillic,
# Greek and Latin-extended letters that render like Latin ones. 'i' and 'l' become one letter, as
# capital I and small l look the same in most fonts.
_CONFUSABLES = {
    "0": "o", "1": "l", "i": "l", "ı": "l", "ǀ": "l",
    "а": "a", "в": "b", "е": "e", "ё": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "ѕ": "s",
    "і": "l", "ї": "l", "ј": "j", "ӏ": "l", "һ": "h", "ԁ": "d", "ԛ": "q", "ԝ": "w", "к": "k", "м": "m", "т": "t",
    "ο": "o", "α": "a", "ε": "e", "ι": "l", "κ": "k", "ν": "v", "ρ": "p", "τ": "t", "υ": "u", "χ": "x",
}
CONFUSABLE_FROM = "".join(_CONFUSABLES)
CONFUSABLE_TO = "".join(_CONFUSABLES.values())
_MULTI = (("rn", "m"), ("vv", "w"))

_GUID = r"\{?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}?"


def _col(c):
    from pyspark.sql import functions as F

    return F.col(c) if isinstance(c, str) else c


def path_key(c):
    """Lower case, ``/`` -> ``\\``, without ``\\??\\``, ``\\\\?\\`` or ``\\\\.\\`` in front; null stays null."""
    from pyspark.sql import functions as F

    p = F.translate(F.lower(F.trim(_col(c))), "/", "\\")
    return F.regexp_replace(p, r"^(\\\?\?\\|\\\\[?.]\\)", "")


def file_name(key):
    """The last part of a path key (the whole key when it has no folder)."""
    from pyspark.sql import functions as F

    return F.regexp_extract(_col(key), r"([^\\]*)$", 1)


def folder(key):
    """The folder of a path key, without the trailing ``\\`` (empty without one)."""
    from pyspark.sql import functions as F

    return F.regexp_extract(_col(key), r"^(.*)\\[^\\]*$", 1)


def folder_template(folder_key):
    """A folder key with user profiles, WinSxS components, GUIDs, versions and hashes folded."""
    from pyspark.sql import functions as F

    t = F.regexp_replace(_col(folder_key), r"^([a-z]:\\users\\)(?!(public|default)(\\|$))[^\\]+", "$1*")
    t = F.regexp_replace(t, r"^([a-z]:\\windows\\winsxs\\)[^\\]+", "$1*")
    t = F.regexp_replace(t, _GUID, "{guid}")
    t = F.regexp_replace(t, r"\d+(\.\d+)+(-\d+)?", "#")
    return F.regexp_replace(t, r"[0-9a-f]{16,}", "#")


def stem(name):
    """The name without trailing dots or spaces and without its run of executable extensions."""
    from pyspark.sql import functions as F

    trimmed = F.regexp_replace(_col(name), r"[\s.]+$", "")
    return F.regexp_replace(trimmed, _EXTENSIONS, "")


def extension(name):
    """The run of executable extensions the name ends with (``.exe``, ``.exe.exe``; empty without one)."""
    from pyspark.sql import functions as F

    return F.regexp_extract(F.regexp_replace(_col(name), r"[\s.]+$", ""), "((\\.(" + "|".join(EXECUTABLE_EXTENSIONS) + "))+)$", 1)


def skeleton(stem_col, sequences: bool = True):
    """The stem with look-alike characters made one (see the module doc).

    ``sequences=False`` leaves letter pairs (``rn``, ``vv``) as they are: an edit can make such a pair
    (``userinit`` with two letters swapped is ``useirnit``), and its distance is then measured on this form.
    """
    from pyspark.sql import functions as F

    s = F.lower(_col(stem_col))
    for seq, letter in _MULTI if sequences else ():
        s = F.regexp_replace(s, seq, letter)
    return F.translate(s, CONFUSABLE_FROM, CONFUSABLE_TO)


def _deletions(s: str) -> str:
    """SQL: the strings left after deleting one character of ``s`` (an SQL expression of a string)."""
    return (f"transform(sequence(1, greatest(length({s}), 1)), "
            f"i -> concat(substring({s}, 1, i - 1), substring({s}, i + 1)))")


def deletion_keys(col_name: str, two_from):
    """Blocking keys of the skeleton column ``col_name``: itself and its one-letter deletions, and
    from a length of ``two_from`` (a Column or int) also its two-letter deletions."""
    from pyspark.sql import functions as F

    one = F.expr(f"array_union(array({col_name}), {_deletions(col_name)})")
    two = F.expr(f"flatten(transform({_deletions(col_name)}, d -> {_deletions('d')}))")
    two_from = two_from if not isinstance(two_from, int) else F.lit(two_from)
    return F.when(F.length(col_name) >= two_from, F.array_distinct(F.concat(one, two))).otherwise(one)


def edit_distance(a: str, b: str, limit: int = 2):
    """Edit distance of two skeleton columns, where swapping two adjacent letters is one edit
    (optimal string alignment); ``limit + 1`` when it is larger than ``limit``."""
    from pyspark.sql import functions as F

    lev = F.levenshtein(F.col(a), F.col(b), limit)
    swapped = F.expr(
        f"length({a}) = length({b}) AND length({a}) > 1 AND exists(sequence(1, length({a}) - 1), "
        f"i -> concat(substring({a}, 1, i - 1), substring({a}, i + 1, 1), substring({a}, i, 1), "
        f"substring({a}, i + 2)) = {b})")
    return (F.when(lev < 0, F.lit(limit + 1))
            .when((lev == 2) & swapped, F.lit(1))
            .otherwise(lev))
