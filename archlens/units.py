"""Units in one place: parsing ``1.5G``/``64MiB``, formatting counts, and MACs -> FLOPs.

Conventions:

* 1 MAC (multiply-accumulate) = one multiply plus one add; ``FLOPs = 2 x MACs`` (:func:`flops`).
* Suffixes K, M, G, T are decimal (10^3 ...); KiB, MiB, GiB, TiB (or Ki, Mi, ...) are binary (2^10 ...).
  ``B`` after a suffix means bytes and changes nothing in the number (``64MB`` = 64,000,000).
* Bytes are one quantity only (activation memory); parameters, MACs and FLOPs are counts, and a
  count refuses a byte unit or a binary prefix (``--max-macs 64MiB`` is a mistake, not 67,108,864 MACs).
* Counts are Python integers everywhere: no float ever holds a count, so 10^15 MACs stay exact.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation, localcontext

from archlens.errors import UnitError

DECIMAL_PREFIXES = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15}
BINARY_PREFIXES = {"KI": 2**10, "MI": 2**20, "GI": 2**30, "TI": 2**40, "PI": 2**50}

TORCH_SIZE_LIMIT = 2**63 - 1
"""PyTorch's sizes and element counts are signed 64-bit integers: the largest a tensor (or the command line) takes."""
MAX_QUANTITY_DIGITS = 100  # a budget beyond 10^100 means nothing; it would only cost time
_QUANTITY = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:e([+-]?[0-9]+))?\s*([A-Za-z]*)\s*$")


def flops(macs: int) -> int:
    """FLOPs from MACs: one multiply-accumulate is two floating-point operations.

    >>> flops(1_500_000_000)
    3000000000
    """
    return 2 * macs


QUANTITY_KINDS = ("any", "count", "bytes")


def parse_quantity(text: str | int, *, what: str = "quantity", kind: str = "any") -> int:
    """Parse ``"1.5G"``, ``"7M"``, ``"64MiB"``, ``"64MB"`` or ``"1500000"`` into an exact integer.

    >>> parse_quantity("1.5G"), parse_quantity("64MiB"), parse_quantity("2K")
    (1500000000, 67108864, 2000)

    ``kind`` says what the number is: ``count`` (parameters, MACs, FLOPs: decimal prefixes only, a
    byte unit or a binary prefix is refused), ``bytes`` (activation memory: every unit), or ``any``.

    >>> parse_quantity("64MiB", what="max_macs", kind="count")
    Traceback (most recent call last):
    archlens.errors.UnitError: max_macs '64MiB' is in bytes, but MACs are a count; write 64M (64,000,000) or 67108864

    A fractional result (``"1.5"``) or an unknown suffix is a :class:`UnitError`.
    """
    if kind not in QUANTITY_KINDS:
        raise ValueError(f"kind must be one of {QUANTITY_KINDS}, not {kind!r}")
    if isinstance(text, bool):
        raise UnitError(f"{what} must be a number like 1.5G or 64MiB, not {text!r}")
    if isinstance(text, int):
        if text < 0:
            raise UnitError(f"{what} must not be negative, got {text}")
        return text
    match = _QUANTITY.match(str(text))
    if not match:
        raise UnitError(
            f"{what} {text!r} is not a quantity",
            hint="write a number with an optional suffix: 7M, 1.5G, 64MiB (K/M/G/T decimal, KiB/MiB/GiB binary)",
        )
    number, exponent, suffix = match.groups()
    unit = suffix.upper()
    if unit.endswith("B") and unit not in ("B",):
        unit = unit[:-1]
    elif unit == "B":
        unit = ""
    if unit in DECIMAL_PREFIXES:
        scale = DECIMAL_PREFIXES[unit]
    elif unit in BINARY_PREFIXES:
        scale = BINARY_PREFIXES[unit]
    else:
        raise UnitError(
            f"{what} {text!r} has an unknown unit {suffix!r}",
            hint="use K, M, G, T (decimal) or KiB, MiB, GiB, TiB (binary)",
        )
    digits = len(number.replace(".", "").lstrip("0"))
    if max(digits, digits + int(exponent or 0)) > MAX_QUANTITY_DIGITS:
        raise UnitError(f"{what} {str(text)[:40]!r} is too large (more than {MAX_QUANTITY_DIGITS} digits)")
    # Exact decimal arithmetic: the default context keeps only 28 digits and would round.
    with localcontext() as context:
        context.prec = 4 * MAX_QUANTITY_DIGITS
        try:
            value = Decimal(number) * (Decimal(10) ** int(exponent or 0)) * scale
        except InvalidOperation as error:  # pragma: no cover - the regex admits only digits
            raise UnitError(f"{what} {text!r} is not a number") from error
    if value != value.to_integral_value():
        raise UnitError(f"{what} {text!r} is not a whole number", hint="use a larger unit or fewer decimals")
    if kind == "count" and (suffix.upper().endswith("B") or unit in BINARY_PREFIXES):
        raise _byte_unit_on_a_count(text, what, number, exponent, unit, int(value))
    return int(value)


COUNT_NOUNS = {"params": "parameters are", "macs": "MACs are", "flops": "FLOPs are"}


def _byte_unit_on_a_count(text: str | int, what: str, number: str, exponent: str | None, unit: str,
                          value: int) -> UnitError:
    """``--max-macs 64MiB``: bytes (or a binary prefix) where a count belongs, in one line with the fix."""
    noun = next((words for key, words in COUNT_NOUNS.items() if what.endswith(key)), "it is")
    decimal = unit[:1] if unit else ""
    written = f"{number}{'e' + exponent if exponent else ''}{decimal}"
    exact = value if not decimal else parse_quantity(written)
    sense = "in bytes" if str(text).strip().upper().endswith("B") else "a binary (byte) size"
    fix = f"write {written}" + (f" ({format_int(exact)})" if written != str(exact) else "")
    fix += f" or {value}" if value != exact else ""
    return UnitError(f"{what} {str(text)!r} is {sense}, but {noun} a count", hint=fix)


def format_count(value: int, *, precision: int = 2) -> str:
    """A count in decimal units for people: ``1_498_376_192`` -> ``"1.50 G"``.

    >>> format_count(6_624_904), format_count(950), format_count(0)
    ('6.62 M', '950', '0')
    """
    magnitude = abs(value)
    for unit, scale in (("P", 10**15), ("T", 10**12), ("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if magnitude >= scale:
            return f"{_scaled(value, scale, precision)} {unit}"
    return str(value)


def format_bytes(value: int, *, precision: int = 2) -> str:
    """Bytes in binary units: ``67_108_864`` -> ``"64.00 MiB"``.

    >>> format_bytes(3_211_264)
    '3.06 MiB'
    """
    magnitude = abs(value)
    for unit, scale in (("PiB", 2**50), ("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if magnitude >= scale:
            return f"{_scaled(value, scale, precision)} {unit}"
    return f"{value} B"


def _scaled(value: int, scale: int, precision: int) -> str:
    """``value / scale`` with ``precision`` decimals. Below 10^15 units a float is exact enough (and
    keeps earlier output byte for byte); beyond, a float would print invented digits, so round the
    integers exactly (half up): 10^50 MACs is "100000000000000000000000000000000000.00 P"."""
    if abs(value) < scale * 10**15:
        return f"{value / scale:.{precision}f}"
    units = (abs(value) * 10**precision * 2 + scale) // (2 * scale)
    whole, fraction = divmod(units, 10**precision)
    text = f"{whole}.{fraction:0{precision}d}" if precision else str(whole)
    return f"-{text}" if value < 0 else text


def format_int(value: int) -> str:
    """An exact integer with thousands separators: ``1498376192`` -> ``"1,498,376,192"``."""
    return f"{value:,}"


def format_ratio(value: float) -> str:
    """A ratio for tables: ``12.3456`` -> ``"12.35x"``."""
    return f"{value:.2f}x"
