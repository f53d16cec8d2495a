"""What the public may see of a case: personal data masked, the position coarsened.

Citizens type phone numbers, ID numbers, e-mail addresses and licence plates into their
reports; the public view of a case (Open311 without staff rights) shows its text with those
masked (:func:`mask_personal`), and its position rounded to a grid whose cell depends on the
kind of problem (:func:`public_position`). Staff see the case as reported. The PIPL's
minimum-necessary principle and FixMyStreet's moderation are the references.

Masked, each only as a whole token (not inside a longer run of digits or letters):

- mainland mobile numbers (``1[3-9]`` + 9 digits, optionally ``+86``/``86`` and separators)
  and landlines with an area code (``023-6312 3456``);
- mainland resident ID numbers (18 characters, GB 11643-1999) whose check character is right;
  a number of the same shape with a wrong one is left as it is (it is not an ID);
- e-mail addresses (the local part);
- licence plates (a province's character, a letter, five or six letters and digits).

Dates, prices, house and room numbers, postcodes and counts are not touched.
"""

from __future__ import annotations

import math
import re

from shancheng.geo.crs import lonlat_to_utm, utm_to_lonlat

_MOBILE = re.compile(
    r"(?<![0-9A-Za-z])(?:\+?86[ -]?)?(1[3-9]\d)[ -]?(\d{4})[ -]?(\d{4})(?![0-9A-Za-z])"
)
_LANDLINE = re.compile(r"(?<![0-9A-Za-z-])(0\d{2,3})[ -](\d{3,4})[ -]?(\d{4})(?![0-9A-Za-z])")
_ID = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3})([0-9Xx])(?![0-9A-Za-z])")
_EMAIL = re.compile(r"(?<![\w.+-])([\w.+-])[\w.+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领"
_PLATE = re.compile(
    rf"(?<![0-9A-Za-z])([{_PROVINCES}][A-Z])[ ·]?([A-HJ-NP-Z0-9]{{3,4}})([A-HJ-NP-Z0-9]{{2}})"
    r"(?![0-9A-Za-z])"
)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
MASK = "*"

PUBLIC_PRECISION_M = {"component": 10.0, "event": 100.0}
"""Grid of the public position by kind of category: a fixed object (部件: a manhole cover, a
lamp) is where it is; an event (事件: a dispute, rubbish, noise) is near where people live."""


def id_number_valid(number: str) -> bool:
    """Tell whether an 18-character mainland ID number's check character is right.

    Examples
    --------
    >>> id_number_valid("11010519491231002X")
    True
    >>> id_number_valid("110105194912310021")
    False
    """
    if len(number) != 18 or not number[:17].isdigit():  # noqa: PLR2004 - GB 11643's length
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper()


def _mask_id(match: re.Match[str]) -> str:
    number = match.group(0)
    if not id_number_valid(number):
        return number
    return number[:3] + MASK * 11 + number[-4:]


def mask_personal(text: str) -> str:
    """Return ``text`` with phone numbers, valid ID numbers, e-mails and plates masked.

    Examples
    --------
    >>> mask_personal("联系人王先生 13812345678，身份证11010519491231002X")
    '联系人王先生 138****5678，身份证110***********002X'
    >>> mask_personal("2026年11月23日，8号楼302室，价格1380元")
    '2026年11月23日，8号楼302室，价格1380元'
    """
    text = _ID.sub(_mask_id, text)
    text = _MOBILE.sub(lambda m: f"{m.group(1)}{MASK * 4}{m.group(3)}", text)
    text = _LANDLINE.sub(lambda m: f"{m.group(1)}-{MASK * len(m.group(2))}{m.group(3)}", text)
    text = _EMAIL.sub(lambda m: f"{m.group(1)}{MASK * 3}@{m.group(2)}", text)
    return _PLATE.sub(lambda m: f"{m.group(1)}{MASK * len(m.group(2))}{m.group(3)}", text)


def public_position(
    lon: float, lat: float, *, precision_m: float, epsg: int = 32648
) -> tuple[float, float]:
    """Return the centre of the ``precision_m`` grid cell (UTM ``epsg``) holding the point."""
    if precision_m <= 0:
        return lon, lat
    x, y = lonlat_to_utm([lon], [lat], epsg=epsg)
    cx = (math.floor(float(x[0]) / precision_m) + 0.5) * precision_m
    cy = (math.floor(float(y[0]) / precision_m) + 0.5) * precision_m
    plon, plat = utm_to_lonlat([cx], [cy], epsg=epsg)
    return round(float(plon[0]), 6), round(float(plat[0]), 6)
