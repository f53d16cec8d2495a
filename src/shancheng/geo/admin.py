"""The four administrative levels of a Chinese city and the codes that chain them.

Codes follow the shape of the National Bureau of Statistics division codes: a city or a
district has 6 digits, a street (or town) 9, a community 12, and every code starts with the
code of its parent (a district code with the first four digits of its city's code).
"""

from __future__ import annotations

from enum import StrEnum


class AdminLevel(StrEnum):
    """Level of an administrative unit, from the whole city down to a community.

    ``CITY`` is 市, ``DISTRICT`` is 区县 (district or county), ``STREET`` is 街道/镇 (street
    office or town) and ``COMMUNITY`` is 社区 (residents' community, or 村 village).
    """

    CITY = "city"
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"

    @property
    def code_length(self) -> int:
        """Number of digits in a code of this level (6, 6, 9 or 12)."""
        return {"city": 6, "district": 6, "street": 9, "community": 12}[self.value]

    @property
    def parent_prefix_length(self) -> int:
        """How many leading digits a code shares with its parent's code (0 for the city)."""
        return {"city": 0, "district": 4, "street": 6, "community": 9}[self.value]

    @property
    def depth(self) -> int:
        """0 for the city, 1 for districts, 2 for streets, 3 for communities."""
        return list(AdminLevel).index(self)

    @property
    def parent(self) -> AdminLevel | None:
        """The level directly above, or ``None`` for the city."""
        return None if self is AdminLevel.CITY else list(AdminLevel)[self.depth - 1]


def is_child_code(child_code: str, parent_code: str, level: AdminLevel) -> bool:
    """Tell whether ``child_code`` of ``level`` is well formed and chains to ``parent_code``.

    Parameters
    ----------
    child_code
        Code of the unit, all digits.
    parent_code
        Code of its claimed parent unit.
    level
        Level of the child unit (not the city).

    Returns
    -------
    bool
        True when the child code has the right length and starts with its parent's prefix.

    Examples
    --------
    >>> is_child_code("990101001", "990101", AdminLevel.STREET)
    True
    >>> is_child_code("990102001", "990101", AdminLevel.STREET)
    False
    """
    prefix = level.parent_prefix_length
    return (
        child_code.isdigit()
        and len(child_code) == level.code_length
        and child_code[:prefix] == parent_code[:prefix]
        and child_code != parent_code
    )
