"""The unified social credit code check (GB 32100-2015) on valid codes and every corruption."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shancheng.credit.codes import CHARSET, EntityKind, complete_code, parse_code
from shancheng.errors import CreditCodeError

# Worked by hand (see the comments); the first is GB 32100's much-quoted example.
# 91350100M000100Y43: organisation check on M000100Y: 22*3 + 1*5 + 34*2 = 139, 139 % 11 = 7,
# 11 - 7 = 4 -> '4'; whole check: 9*1 + 1*3 + 3*9 + 5*27 + 1*26 + 21*20 (M) + 1*8 + 30*30 (Y)
# + 4*28 = 1640, 1640 % 31 = 28, 31 - 28 = 3 -> '3'.
VALID = {
    "91350100M000100Y43": ("9", "1", "350100", EntityKind.ENTERPRISE),
    # an individual trader in Yuzhong (500103); organisation code 00000000 -> 11 - 0 = 11
    # -> '0'; whole check: 9*1 + 2*3 + 5*9 + 1*26 + 3*17 = 137, 137 % 31 = 13, 31 - 13 = 18
    # -> CHARSET[18] = 'J'
    "92500103000000000J": ("9", "2", "500103", EntityKind.INDIVIDUAL),
}


def _oracle_valid(code: str) -> bool:
    """An independent statement of both checks: weighted sums vanish modulo 11 and 31."""
    values = [CHARSET.index(c) for c in code]
    weights = [3**i % 31 for i in range(17)] + [1]
    org = [int(c) if c.isdigit() else ord(c) - 55 for c in code[8:16]]
    org_check = {"X": 10, "0": 11}.get(code[16], CHARSET.index(code[16]))
    org_ok = (sum(v * w for v, w in zip(org, (3, 7, 9, 10, 5, 8, 4, 2))) + org_check) % 11 == 0
    return org_ok and sum(v * w for v, w in zip(values, weights)) % 31 == 0


@pytest.mark.parametrize("code", sorted(VALID))
def test_known_valid_codes_parse(code):
    parsed = parse_code(code)
    assert (parsed.authority, parsed.entity_type, parsed.division_code, parsed.kind) == VALID[code]
    assert _oracle_valid(code)


def test_spaces_and_lower_case_are_tolerated():
    assert parse_code("  91350100m000100y43 ").code == "91350100M000100Y43"


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("91350100M000100Y4", "17 characters"),
        ("91350100M000100Y433", "19 characters"),
        ("", "0 characters"),
        ("91350100M00010OY43", "'O' at position 15"),
        ("91350100I000100Y43", "'I' at position 9"),
        ("91350100M000100Z43", "'Z' at position 16"),
        ("91350100M000100S43", "'S' at position 16"),
        ("91350100M000100V43", "'V' at position 16"),
        ("9135010-M000100Y43", "'-' at position 8"),
        ("B1350100M000100Y43", "registration authority 'B'"),
        ("94350100M000100Y43", "entity type '4'"),
        ("913501A0M000100Y43", "division code '3501A0'"),
        ("91350100M000100Y53", "organisation code's check character (position 17 should be '4'"),
        ("91350100M000100Y44", "check character (position 18 should be '3', got '4')"),
    ],
)
def test_every_kind_of_corruption_is_named(code, words):
    with pytest.raises(CreditCodeError) as info:
        parse_code(code, field="codes.csv, row 3, code")
    assert words in str(info.value)
    assert str(info.value).startswith("`codes.csv, row 3, code`")
    assert info.value.field == "codes.csv, row 3, code"


_body = st.tuples(
    st.sampled_from(["91", "92", "93", "12", "52", "Y1"]),
    st.text("0123456789", min_size=6, max_size=6),
    st.text(CHARSET, min_size=8, max_size=8),
).map("".join)


@given(_body)
def test_completed_codes_are_valid_by_the_oracle(body):
    code = complete_code(body)
    assert _oracle_valid(code)
    assert parse_code(code).code == code


@given(_body, st.integers(0, 17), st.sampled_from(CHARSET))
def test_any_single_character_change_is_detected(body, position, char):
    code = complete_code(body)
    changed = code[:position] + char + code[position + 1 :]
    if changed == code:
        return
    with pytest.raises(CreditCodeError):
        parse_code(changed)


@given(_body, st.integers(0, 16))
def test_any_adjacent_transposition_is_detected(body, position):
    code = complete_code(body)
    swapped = code[:position] + code[position + 1] + code[position] + code[position + 2 :]
    if swapped == code:
        return
    with pytest.raises(CreditCodeError):
        parse_code(swapped)
