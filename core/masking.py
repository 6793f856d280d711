"""Masking of a resident ID number, in one place for every reader and writer.

Standard library only: the settlement fast lane's child process (no Django) masks the bytes of a
file with the same function, and the SQL engine's expression is written from the same constants.
A number of at least ID_MASK_FROM characters keeps its first ID_KEEP_HEAD and last ID_KEEP_TAIL
characters around ID_HIDDEN stars; a shorter one is starred whole; an empty one stays empty.
"""

ID_KEEP_HEAD = 6  # the region code: which county issued it
ID_KEEP_TAIL = 4  # enough to tell two people apart on a list
ID_HIDDEN = 8  # the birth date
ID_MASK_FROM = 10
STAR = "*"


def mask_id_number(value):
    """The masked form of an ID number given as str (or as UTF-8 bytes of ASCII, in the lane)."""
    if not value:
        return b"" if isinstance(value, bytes) else ""
    star = STAR.encode() if isinstance(value, bytes) else STAR
    if len(value) >= ID_MASK_FROM:
        return value[:ID_KEEP_HEAD] + star * ID_HIDDEN + value[-ID_KEEP_TAIL:]
    return star * len(value)


def mask_id_number_sql(expression: str) -> str:
    """`mask_id_number` as a PostgreSQL expression over a text `expression` (NULL gives '')."""
    return (
        f"CASE WHEN {expression} IS NULL OR {expression} = '' THEN '' WHEN length({expression}) >= {ID_MASK_FROM} "
        f"THEN left({expression}, {ID_KEEP_HEAD}) || '{STAR * ID_HIDDEN}' || right({expression}, {ID_KEEP_TAIL}) "
        f"ELSE repeat('{STAR}', length({expression})) END"
    )
