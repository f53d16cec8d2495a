# ruff: noqa: INP001 - a hook loaded by mkdocs.yml, not a package
"""MkDocs hook: the CLI reference page, generated from the ``shancheng`` command's ``--help``.

``mkdocs build`` calls :func:`on_files`, which adds ``cli.md`` to the site: one section per
command and sub-command, each holding exactly what ``shancheng ... --help`` prints (100
columns, no colour). Nothing is copied by hand, so the page cannot drift from the code; the
page exists only in the built site (``site/``), never in the repository.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Protocol

from mkdocs.structure.files import File

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.structure.files import Files
    from mkdocs.structure.pages import Page

CLI_PAGE = "cli.md"
WIDTH = 100
# a Sphinx role left in a docstring, as mkdocstrings renders it: :func:<code>~pkg.name</code>
SPHINX_ROLE = re.compile(
    r":(?:func|class|mod|meth|attr|data|exc|obj):<code>(~?)([\w.]+(?:\(\))?)</code>"
)


class _Command(Protocol):
    """What the walk needs of a click command (typer ships its own click)."""

    hidden: bool


def _command_paths(command: _Command, path: list[str]) -> Iterator[list[str]]:
    """Yield the path of ``command`` and of every sub-command below it, depth first, by name."""
    yield path
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        if not sub.hidden:
            yield from _command_paths(sub, [*path, name])


def help_text(path: list[str]) -> str:
    """Return what ``shancheng <path> --help`` prints, trailing spaces and blank ends removed."""
    from typer.testing import CliRunner  # noqa: PLC0415 - the CLI is imported only to build docs

    from shancheng.cli import app  # noqa: PLC0415

    env = {"TERMINAL_WIDTH": str(WIDTH), "NO_COLOR": "1", "COLUMNS": str(WIDTH)}
    result = CliRunner().invoke(app, [*path, "--help"], terminal_width=WIDTH, env=env)
    if result.exit_code != 0:
        msg = f"`shancheng {' '.join(path)} --help` exited {result.exit_code}: {result.output}"
        raise RuntimeError(msg)
    return "\n".join(line.rstrip() for line in result.output.splitlines()).strip("\n")


def cli_reference() -> str:
    """Return the Markdown of the CLI reference: every command's ``--help``, in tree order."""
    import typer  # noqa: PLC0415

    from shancheng.cli import app  # noqa: PLC0415

    lines = [
        "# Command-line reference",
        "",
        "Generated at build time from `shancheng … --help` (`scripts/mkdocs_hooks.py`); every",
        "command reads its settings from `SHANCHENG_*` variables and `shancheng.toml` (see",
        "[Settings](index.md#settings)).",
        "",
    ]
    for path in _command_paths(typer.main.get_command(app), []):
        title = " ".join(["shancheng", *path])
        level = "#" * (2 if len(path) <= 1 else 3)  # a group's commands sit under the group
        lines += [f"{level} `{title}`", "", "```text", help_text(path), "```", ""]
    return "\n".join(lines)


def on_files(files: Files, *, config: MkDocsConfig) -> Files:
    """Add the generated CLI reference page to the site's files."""
    files.append(File.generated(config, CLI_PAGE, content=cli_reference()))
    return files


def _plain_role(match: re.Match[str]) -> str:
    """Render a Sphinx role as code; ``~a.b.c`` shows ``c``, as Sphinx does."""
    name = match[2].rsplit(".", 1)[-1] if match[1] else match[2]
    return f"<code>{name}</code>"


def on_page_content(html: str, *, page: Page, config: MkDocsConfig, files: Files) -> str:  # noqa: ARG001 - MkDocs' signature
    """Show the docstrings' Sphinx roles (``:func:`name```) as plain code names."""
    return SPHINX_ROLE.sub(_plain_role, html)
