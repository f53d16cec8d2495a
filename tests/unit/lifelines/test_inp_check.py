"""Corrupt EPANET and SWMM files are refused with the file and line, before WNTR sees them.

Each corrupt file is built in a temporary folder from the real L-Town model (or the hand-made
SWMM sewer in tests/data); the expected line numbers are counted here from the text, never
taken from the code under test.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shancheng.cli import main
from shancheng.errors import PipeNetworkError
from shancheng.lifelines.pipes import read_inp
from shancheng.lifelines.swmm import read_swmm

SEWER = Path(__file__).resolve().parents[2] / "data" / "lifelines" / "drainage_small.inp"


@pytest.fixture
def ltown_lines(shared_data) -> list[str]:
    path = shared_data / "lifelines" / "battledim_ltown" / "L-TOWN.inp"
    return path.read_text(encoding="utf-8").splitlines()


def _line_of(lines: list[str], pattern: str) -> int:
    """1-based number of the first line matching ``pattern``."""
    return next(i for i, line in enumerate(lines, 1) if re.match(pattern, line))


def _write(tmp_path: Path, lines: list[str], *, end: str = "\n") -> Path:
    path = tmp_path / "corrupt.inp"
    path.write_text("\n".join(lines) + end, encoding="utf-8")
    return path


def _problems(call, path: Path) -> list[str]:
    with pytest.raises(PipeNetworkError) as info:
        call(path)
    return str(info.value).splitlines()


@pytest.mark.data
def test_the_real_ltown_passes(shared_data):
    net = read_inp(shared_data / "lifelines" / "battledim_ltown" / "L-TOWN.inp")
    assert (net.n_nodes, net.n_links) == (785, 909)


@pytest.mark.data
def test_duplicate_junction_id_is_refused(ltown_lines, tmp_path):
    first = _line_of(ltown_lines, r"\s*n1\s")
    lines = [*ltown_lines[:first], " n1  99.0  0.0  P-Residential", *ltown_lines[first:]]
    path = _write(tmp_path, lines)
    assert _problems(read_inp, path) == [
        f"{path}: 1 problem(s):",
        (
            f"{path}, line {first + 1}: [JUNCTIONS] node id 'n1' is already defined at line "
            f"{first} in [JUNCTIONS]"
        ),
    ]


@pytest.mark.data
def test_duplicate_pipe_id_is_refused(ltown_lines, tmp_path):
    first = _line_of(ltown_lines, r"\s*p1\s")
    lines = [*ltown_lines[:first], " p1  n5  n6  10.0  100.0  0.1  0.0  Open"]
    lines += ltown_lines[first:]
    path = _write(tmp_path, lines)
    assert _problems(read_inp, path)[1:] == [
        (
            f"{path}, line {first + 1}: [PIPES] link id 'p1' is already defined at line {first} "
            "in [PIPES]"
        )
    ]


@pytest.mark.data
def test_pipe_to_an_undefined_node_names_it_and_its_line(ltown_lines, tmp_path):
    at = _line_of(ltown_lines, r"\s*p1\s")
    lines = list(ltown_lines)
    fields = lines[at - 1].split()
    lines[at - 1] = " ".join([fields[0], fields[1], "n99999", *fields[3:]])
    path = _write(tmp_path, lines)
    problems = _problems(read_inp, path)
    assert f"{path}, line {at}: [PIPES] undefined node 'n99999'" in problems
    assert "(Error 200)" not in "\n".join(problems)


@pytest.mark.data
def test_file_cut_inside_coordinates_is_truncated_not_valid(ltown_lines, tmp_path):
    start = _line_of(ltown_lines, r"\[COORDINATES\]")
    keep = start + 1 + 168  # the header, the comment line and 168 of the 785 nodes
    path = _write(tmp_path, ltown_lines[:keep])
    problems = _problems(read_inp, path)
    assert problems[1] == (
        f"{path}, line {keep}: the file ends inside [COORDINATES] without [END]: it looks "
        "truncated (EPANET and WNTR end every file with [END])"
    )
    assert f"{path}: 617 of 785 nodes have no coordinates in [COORDINATES]" in problems


@pytest.mark.data
def test_file_cut_before_options_names_the_section_not_an_attribute_error(ltown_lines, tmp_path):
    cut = _line_of(ltown_lines, r"\[PATTERNS\]") + 40
    path = _write(tmp_path, ltown_lines[:cut])
    problems = _problems(read_inp, path)
    assert problems[1] == (
        f"{path}, line {cut}: the file ends inside [PATTERNS] without [END]: it looks "
        "truncated (EPANET and WNTR end every file with [END])"
    )
    assert problems[-1] == f"{path}: 785 of 785 nodes have no coordinates in [COORDINATES]"
    assert "AttributeError" not in "\n".join(problems)


@pytest.mark.data
def test_file_cut_mid_line_names_the_short_line(ltown_lines, tmp_path):
    at = _line_of(ltown_lines, r"\s*p300\s")
    lines = [*ltown_lines[: at - 1], " ".join(ltown_lines[at - 1].split()[:4])]
    path = _write(tmp_path, lines, end="")
    problems = _problems(read_inp, path)
    assert problems[1].startswith(f"{path}, line {at}: the file ends inside [PIPES] without")
    assert (
        f"{path}, line {at}: [PIPES] has 4 field(s), needs 6 (ID, node 1, node 2, length, "
        "diameter, roughness): is the line cut short?"
    ) in problems


@pytest.mark.data
def test_empty_pipes_section_leaves_nodes_connected_to_no_link(ltown_lines, tmp_path):
    start, end = _line_of(ltown_lines, r"\[PIPES\]"), _line_of(ltown_lines, r"\[PUMPS\]")
    path = _write(tmp_path, ltown_lines[:start] + ltown_lines[end - 1 :])
    problems = _problems(read_inp, path)
    assert f"{path}, line 7: node 'n1' is connected to no link" in problems
    assert any(re.fullmatch(rf"{re.escape(str(path))}: \d+ of 785 nodes are connected to no link",
                            p) for p in problems)  # fmt: skip


def test_swmm_file_cut_mid_line_names_the_short_line(tmp_path):
    lines = SEWER.read_text(encoding="utf-8").splitlines()
    at = _line_of(lines, r"\s*S1\s+120\.0")
    path = _write(tmp_path, [*lines[: at - 1], " S1    120.0"], end="")
    assert _problems(read_swmm, path) == [
        f"{path}: 1 problem(s):",
        (
            f"{path}, line {at}: [COORDINATES] has 2 field(s), needs 3 (node, x, y): is the line "
            "cut short?"
        ),
    ]


def test_swmm_node_without_coordinates_is_named(tmp_path):
    lines = SEWER.read_text(encoding="utf-8").splitlines()
    at = _line_of(lines, r"\s*S1\s+120\.0")
    storage = _line_of(lines, r"\s*S1\s+7\.0")
    path = _write(tmp_path, lines[: at - 1])
    assert _problems(read_swmm, path)[1:] == [
        f"{path}, line {storage}: node 'S1' has no coordinates in [COORDINATES]"
    ]


def test_swmm_file_given_as_epanet_is_recognised():
    conduits = _line_of(SEWER.read_text(encoding="utf-8").splitlines(), r"\[CONDUITS\]")
    with pytest.raises(PipeNetworkError) as info:
        read_inp(SEWER)
    assert str(info.value) == (
        f"{SEWER}: this is an EPA SWMM file, not the format asked for: it has [CONDUITS] "
        f"(line {conduits + 2}); read it with --network drainage"
    )


@pytest.mark.data
def test_epanet_file_given_as_swmm_is_recognised(shared_data, ltown_lines, capsys):
    path = shared_data / "lifelines" / "battledim_ltown" / "L-TOWN.inp"
    pipes = _line_of(ltown_lines, r"\[PIPES\]") + 2  # after the header and its comment
    expected = (
        f"{path}: this is an EPANET file, not the format asked for: it has [PIPES] "
        f"(line {pipes}); read it with --network water"
    )
    with pytest.raises(PipeNetworkError) as info:
        read_swmm(path)
    assert str(info.value) == expected
    # the real command on the real file: an error naming the fix, status 1
    assert main(["lifelines", "validate", str(path), "--network", "drainage"]) == 1
    assert " ".join(capsys.readouterr().err.split()).endswith("read it with --network water")
