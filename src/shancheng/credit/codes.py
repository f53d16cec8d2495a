"""The unified social credit code (统一社会信用代码, GB 32100-2015): parse and check.

Eighteen characters from ``0123456789ABCDEFGHJKLMNPQRTUWXY`` (no I, O, Z, S, V):

====== =================================================================================
1      registration authority (登记管理部门): 9 market regulation, 1 staffing, 5 civil
       affairs, Y other...
2      entity type within that authority (for 9: 1 enterprise, 2 individual trader,
       3 farmers' cooperative)
3-8    administrative division code of the registering authority (6 digits)
9-17   organisation code (GB 11714): 8 characters and their check character
18     check character of the whole code
====== =================================================================================

The organisation code's check (GB 11714-1997): weights 3, 7, 9, 10, 5, 8, 4, 2 on the values of
the first eight characters (digits 0-9, letters A=10 ... Z=35), ``c = 11 - (sum mod 11)``,
written ``X`` for 10 and ``0`` for 11. The whole code's check (GB 32100-2015): weights
``3**i mod 31`` for ``i = 0..16`` on the characters' indices in the charset,
``c = 31 - (sum mod 31)``, 31 written ``0``. Since 31 is prime and no weight is 0 or
another's difference by a multiple of 31, every single-character change and every swap of
two adjacent characters breaks the last check.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shancheng.errors import CreditCodeError

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""The 31 characters a unified social credit code may use."""
_VALUE = {c: i for i, c in enumerate(CHARSET)}
CODE_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
"""Weights of the whole-code check (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, ...)."""
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
"""Weights of the organisation code's check (GB 11714)."""


class EntityKind(StrEnum):
    """What a code's first two characters say the holder is.

    ``ENTERPRISE`` 企业, ``INDIVIDUAL`` 个体工商户 (an individual trader: a natural person's
    business), ``COOPERATIVE`` 农民专业合作社, ``OTHER`` (public bodies, associations...).
    """

    ENTERPRISE = "enterprise"
    INDIVIDUAL = "individual"
    COOPERATIVE = "cooperative"
    OTHER = "other"


# registration authority -> the entity types it issues (GB 32100-2015, table 1)
_TYPES: dict[str, str] = {
    "1": "1239",  # 机构编制: organs, public institutions, mass organisations, other
    "2": "19",  # 外交: foreign embassies' residents offices...
    "3": "12349",  # 司法行政: law firms, notaries...
    "4": "129",  # 文化: foreign cultural centres
    "5": "1239",  # 民政: social organisations, private non-enterprise units, foundations
    "6": "129",  # 旅游: foreign tourism offices
    "7": "129",  # 宗教: religious venues
    "8": "129",  # 工会
    "9": "123",  # 工商 / 市场监管: enterprise, individual trader, farmers' cooperative
    "A": "19",  # 中央军委改革和编制办公室
    "N": "129",  # 农业: rural collective economic organisations
    "Y": "1",  # other registration authorities
}


@dataclass(frozen=True, slots=True)
class CreditCode:
    """A checked unified social credit code and what its characters say."""

    code: str
    authority: str
    entity_type: str
    division_code: str
    organisation_code: str

    @property
    def kind(self) -> EntityKind:
        """The kind of holder (market regulation's three types; everything else ``OTHER``)."""
        if self.authority == "9":
            return {
                "1": EntityKind.ENTERPRISE,
                "2": EntityKind.INDIVIDUAL,
                "3": EntityKind.COOPERATIVE,
            }[self.entity_type]
        return EntityKind.OTHER


def organisation_check(body: str) -> str:
    """Return the GB 11714 check character of an organisation code's first 8 characters.

    Examples
    --------
    >>> organisation_check("M000100Y")  # 22*3 + 1*5 + 34*2 = 139; 11 - 139 % 11 = 4
    '4'
    """
    total = sum(_org_value(c) * w for c, w in zip(body, ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def code_check(body: str) -> str:
    """Return the GB 32100 check character of a code's first 17 characters.

    Examples
    --------
    >>> code_check("91350100M000100Y4")
    '3'
    """
    total = sum(_VALUE[c] * w for c, w in zip(body, CODE_WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def _org_value(char: str) -> int:
    return int(char) if char.isdigit() else ord(char) - ord("A") + 10


def parse_code(text: str, *, field: str = "code") -> CreditCode:
    """Check a unified social credit code and return its parts.

    Spaces around the code are ignored and letters may be lower case; anything else wrong is
    refused with the position and the rule it breaks.

    Parameters
    ----------
    text
        The code as typed or read from a file.
    field
        The name of the field (or ``file, row N, column``) to name in the error.

    Raises
    ------
    CreditCodeError
        Wrong length, a character outside the charset, an unknown authority or type, a
        division code that is not 6 digits, or a check character that does not match.

    Examples
    --------
    >>> parse_code("91350100M000100Y43").kind.value
    'enterprise'
    >>> parse_code("91350100M000100Y44")
    Traceback (most recent call last):
    ...
    shancheng.errors.CreditCodeError: `code`: '91350100M000100Y44' fails its check character \
(position 18 should be '3', got '4'); a character was mistyped
    """
    code = text.strip().upper()
    shown = repr(code[:40])

    def refuse(why: str) -> CreditCodeError:
        return CreditCodeError(f"`{field}`: {shown} {why}", field=field)

    if len(code) != 18:  # noqa: PLR2004 - GB 32100's length
        msg = f"has {len(code)} characters; a unified social credit code has 18"
        raise refuse(msg)
    for position, char in enumerate(code, start=1):
        if char not in _VALUE:
            msg = f"has {char!r} at position {position}; only {CHARSET} are used (no I, O, Z, S, V)"
            raise refuse(msg)
    authority, entity_type = code[0], code[1]
    if authority not in _TYPES:
        msg = f"has registration authority {authority!r} (position 1); known: {''.join(_TYPES)}"
        raise refuse(msg)
    if entity_type not in _TYPES[authority]:
        msg = (
            f"has entity type {entity_type!r} (position 2), which authority {authority!r} does "
            f"not issue; expected one of {_TYPES[authority]}"
        )
        raise refuse(msg)
    if not code[2:8].isdigit():
        msg = f"has division code {code[2:8]!r} (positions 3-8); it must be 6 digits"
        raise refuse(msg)
    org_expected = organisation_check(code[8:16])
    if code[16] != org_expected:
        msg = (
            f"fails its organisation code's check character (position 17 should be "
            f"{org_expected!r}, got {code[16]!r}); a character was mistyped"
        )
        raise refuse(msg)
    expected = code_check(code[:17])
    if code[17] != expected:
        msg = (
            f"fails its check character (position 18 should be {expected!r}, got "
            f"{code[17]!r}); a character was mistyped"
        )
        raise refuse(msg)
    return CreditCode(code, authority, entity_type, code[2:8], code[8:17])


def complete_code(first_16: str) -> str:
    """Append both check characters to 16 characters (for generating demo codes).

    Examples
    --------
    >>> complete_code("91350100M000100Y")
    '91350100M000100Y43'
    """
    with_org = first_16 + organisation_check(first_16[8:16])
    return with_org + code_check(with_org)
