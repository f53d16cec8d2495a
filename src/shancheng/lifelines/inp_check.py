"""Our own check of EPANET and SWMM ``.inp`` files, before WNTR or the SWMM reader sees them.

WNTR and EPANET accept files that are wrong in ways an engineer must hear about: a junction
listed twice silently keeps the second elevation, a pipe listed twice is silently rewired, a
file cut short inside ``[COORDINATES]`` leaves hundreds of nodes at (0, 0), and other
truncations end in ``AttributeError`` or EPANET's opaque ``(Error 200)``. This module reads the
sections line by line and reports every problem with the file and the line:

- a line with too few fields for its section, or a non-number where a number belongs (a file
  cut mid-line);
- an id defined twice among the nodes or among the links (the line of the first one named);
- a link, demand or coordinate naming a node that no section defines (``undefined node``, as
  EPANET's error 203 says);
- coordinates given twice, nodes that have none, and nodes no link reaches (EPANET's error
  233);
- no nodes, no links or nothing that supplies the network, and an EPANET file that does not end
  with ``[END]`` (EPANET and WNTR always write it: a file without it was cut short);
- a SWMM file given as EPANET, or the reverse, recognised by the sections only the other has.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from shancheng.errors import PipeNetworkError

if TYPE_CHECKING:
    from pathlib import Path

Sections = dict[str, list[tuple[int, list[str]]]]
"""Data lines of each ``[SECTION]``: (line number, fields), comments and blank lines dropped."""
_MAX_LISTED = 20
_NAMED = 5


@dataclass(frozen=True)
class SectionSpec:
    """What the data lines of one section hold.

    Attributes
    ----------
    fields
        The leading fields every line needs, by name (their count is the minimum).
    numbers
        Positions of the fields that must be numbers.
    defines
        ``"node"`` or ``"link"`` when field 0 defines an id of that namespace.
    nodes
        Positions of the fields that name a node.
    """

    fields: tuple[str, ...]
    numbers: tuple[int, ...] = ()
    defines: Literal["node", "link"] | None = None
    nodes: tuple[int, ...] = ()


EPANET = {
    "JUNCTIONS": SectionSpec(("ID", "elevation"), (1,), "node"),
    "RESERVOIRS": SectionSpec(("ID", "head"), (1,), "node"),
    "TANKS": SectionSpec(
        (
            "ID",
            "elevation",
            "initial level",
            "minimum level",
            "maximum level",
            "diameter",
            "minimum volume",
        ),
        (1, 2, 3, 4, 5, 6),
        "node",
    ),
    "PIPES": SectionSpec(
        ("ID", "node 1", "node 2", "length", "diameter", "roughness"), (3, 4, 5), "link", (1, 2)
    ),
    "PUMPS": SectionSpec(("ID", "node 1", "node 2", "property"), (), "link", (1, 2)),
    "VALVES": SectionSpec(
        ("ID", "node 1", "node 2", "diameter", "type", "setting"), (3,), "link", (1, 2)
    ),
    "DEMANDS": SectionSpec(("junction", "demand"), (1,), None, (0,)),
    "EMITTERS": SectionSpec(("junction", "coefficient"), (1,), None, (0,)),
    "COORDINATES": SectionSpec(("node", "x", "y"), (1, 2), None, (0,)),
}
"""EPANET 2.2 sections that define or refer to the network."""
EPANET_SOURCES = ("RESERVOIRS", "TANKS")

SWMM = {
    "JUNCTIONS": SectionSpec(("name", "elevation"), (1,), "node"),
    "OUTFALLS": SectionSpec(("name", "elevation"), (1,), "node"),
    "STORAGE": SectionSpec(("name", "elevation"), (1,), "node"),
    "DIVIDERS": SectionSpec(("name", "elevation"), (1,), "node"),
    "CONDUITS": SectionSpec(("name", "from node", "to node", "length"), (3,), "link", (1, 2)),
    "PUMPS": SectionSpec(("name", "from node", "to node"), (), "link", (1, 2)),
    "ORIFICES": SectionSpec(("name", "from node", "to node"), (), "link", (1, 2)),
    "WEIRS": SectionSpec(("name", "from node", "to node"), (), "link", (1, 2)),
    "OUTLETS": SectionSpec(("name", "from node", "to node"), (), "link", (1, 2)),
    "XSECTIONS": SectionSpec(("link", "shape", "geom1"), ()),
    "COORDINATES": SectionSpec(("node", "x", "y"), (1, 2), None, (0,)),
}
"""SWMM 5 sections that define the drainage network's topology."""
SWMM_SOURCES = ("OUTFALLS",)

_ONLY_SWMM = ("CONDUITS", "SUBCATCHMENTS", "OUTFALLS", "XSECTIONS", "RAINGAGES", "SUBAREAS")
_ONLY_EPANET = ("PIPES", "RESERVOIRS", "TANKS", "VALVES", "DEMANDS", "EMITTERS")


def read_sections(file: Path) -> tuple[Sections, int, str | None]:
    """Split an ``.inp`` file into the data lines of each section.

    Returns
    -------
    tuple
        The sections, the number of the last line, and the section the file ends in.

    Raises
    ------
    PipeNetworkError
        The file cannot be read as UTF-8 text (or Latin-1, which old EPANET files use).
    """
    try:
        raw = file.read_bytes()
    except OSError as exc:
        msg = f"{file}: not a readable .inp file ({type(exc).__name__}: {exc})"
        raise PipeNetworkError(msg) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    sections: Sections = {}
    current = None
    number = 0
    for number, line in enumerate(text.splitlines(), start=1):
        data = line.split(";", 1)[0].strip()
        if not data:
            continue
        if data.startswith("["):
            current = data.strip("[]").strip().upper()
            sections.setdefault(current, [])
        elif current is not None:
            sections[current].append((number, data.split()))
    return sections, number, current


def check_epanet(file: Path) -> None:
    """Check an EPANET ``.inp`` file; raise one error listing every problem by line.

    Raises
    ------
    PipeNetworkError
        Any problem of the module docstring, each as ``<file>, line <n>: <what>``.
    """
    sections, last_line, last_section = read_sections(file)
    _refuse_other_format(file, sections, _ONLY_SWMM, "an EPA SWMM", "drainage")
    problems = []
    if last_section != "END":
        where = f"inside [{last_section}]" if last_section else "before any section"
        problems.append(
            f"{file}, line {last_line}: the file ends {where} without [END]: it looks "
            "truncated (EPANET and WNTR end every file with [END])"
        )
    problems += _check(file, sections, EPANET, EPANET_SOURCES, what="EPANET")
    _raise(file, problems)


def check_swmm(file: Path, sections: Sections) -> None:
    """Check the network sections of a SWMM 5 ``.inp`` file already split by line.

    Raises
    ------
    PipeNetworkError
        Any problem of the module docstring, each as ``<file>, line <n>: <what>``.
    """
    _refuse_other_format(file, sections, _ONLY_EPANET, "an EPANET", "water")
    _raise(file, _check(file, sections, SWMM, SWMM_SOURCES, what="SWMM"))


def _refuse_other_format(
    file: Path, sections: Sections, only_other: tuple[str, ...], other: str, network: str
) -> None:
    found = [name for name in only_other if name in sections]
    if found:
        first = sections[found[0]][0][0] if sections[found[0]] else None
        where = f" (line {first})" if first else ""
        msg = (
            f"{file}: this is {other} file, not the format asked for: it has "
            f"[{found[0]}]{where}; read it with --network {network}"
        )
        raise PipeNetworkError(msg)


def _check(
    file: Path,
    sections: Sections,
    specs: dict[str, SectionSpec],
    sources: tuple[str, ...],
    *,
    what: str,
) -> list[str]:
    problems: list[str] = []
    defined: dict[str, dict[str, tuple[int, str]]] = {"node": {}, "link": {}}
    for name, spec in specs.items():
        for line, fields in sections.get(name, []):
            problems += _line_problems(file, name, spec, line, fields)
            if spec.defines:
                first = defined[spec.defines].setdefault(fields[0], (line, name))
                if first[0] != line:
                    problems.append(
                        f"{file}, line {line}: [{name}] {spec.defines} id {fields[0]!r} is "
                        f"already defined at line {first[0]} in [{first[1]}]"
                    )
    nodes = defined["node"]
    for name, spec in specs.items():
        problems += [
            f"{file}, line {line}: [{name}] undefined node {fields[p]!r}"
            for line, fields in sections.get(name, [])
            for p in spec.nodes
            if p < len(fields) and fields[p] not in nodes
        ]
    linked = {
        fields[p]
        for spec_name, spec in specs.items()
        if spec.defines == "link"
        for _, fields in sections.get(spec_name, [])
        for p in spec.nodes
        if p < len(fields)
    }
    problems += _few_then_count(
        file, [(line, node) for node, (line, _) in nodes.items() if node not in linked],
        "is connected to no link", len(nodes),
    )  # fmt: skip
    placed: dict[str, int] = {}
    for line, fields in sections.get("COORDINATES", []):
        if fields[0] in placed:
            problems.append(
                f"{file}, line {line}: [COORDINATES] node {fields[0]!r} already has "
                f"coordinates at line {placed[fields[0]]}"
            )
        placed.setdefault(fields[0], line)
    problems += _few_then_count(
        file, [(line, node) for node, (line, _) in nodes.items() if node not in placed],
        "has no coordinates in [COORDINATES]", len(nodes),
    )  # fmt: skip
    problems += _empty(file, sections, specs, sources, nodes, defined["link"], what=what)
    return problems


def _few_then_count(file: Path, found: list[tuple[int, str]], what: str, n_nodes: int) -> list[str]:
    """Nodes with a problem: the first few by line, then how many in all."""
    found = sorted(found)
    problems = [f"{file}, line {line}: node {node!r} {what}" for line, node in found[:_NAMED]]
    if len(found) > _NAMED:
        plural = what.replace("has ", "have ", 1).replace("is ", "are ", 1)
        problems.append(f"{file}: {len(found)} of {n_nodes} nodes {plural}")
    return problems


def _line_problems(
    file: Path, section: str, spec: SectionSpec, line: int, fields: list[str]
) -> list[str]:
    if len(fields) < len(spec.fields):
        needs = f"{len(spec.fields)} ({', '.join(spec.fields)})"
        short = f"{file}, line {line}: [{section}] has {len(fields)} field(s), needs {needs}"
        return [f"{short}: is the line cut short?"]
    problems = []
    for position in spec.numbers:
        try:
            float(fields[position])
        except ValueError:
            problems.append(f"{file}, line {line}: [{section}] {spec.fields[position]} must be "
                            f"a number, got {fields[position]!r}")  # fmt: skip
    return problems


def _empty(
    file: Path,
    sections: Sections,
    specs: dict[str, SectionSpec],
    sources: tuple[str, ...],
    nodes: dict[str, tuple[int, str]],
    links: dict[str, tuple[int, str]],
    *,
    what: str,
) -> list[str]:
    problems = []
    node_sections = [n for n, s in specs.items() if s.defines == "node"]
    link_sections = [n for n, s in specs.items() if s.defines == "link"]
    if not nodes:
        problems.append(f"{file}: no nodes: {' '.join(f'[{n}]' for n in node_sections)} "
                        f"are empty or missing (is this a {what} file?)")  # fmt: skip
    if not links:
        problems.append(f"{file}: no links: {' '.join(f'[{n}]' for n in link_sections)} "
                        "are empty or missing")  # fmt: skip
    if nodes and not any(sections.get(name) for name in sources):
        named = " and ".join(f"[{n}]" for n in sources)
        problems.append(f"{file}: nothing supplies the network: {named} are empty or missing")
    return problems


def _raise(file: Path, problems: list[str]) -> None:
    if not problems:
        return
    listed = problems[:_MAX_LISTED]
    more = len(problems) - len(listed)
    tail = f"\n... and {more} more" if more else ""
    msg = f"{file}: {len(problems)} problem(s):\n" + "\n".join(listed) + tail
    raise PipeNetworkError(msg)
