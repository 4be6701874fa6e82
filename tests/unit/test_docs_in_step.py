"""Docs that drift from the code fail here."""

from __future__ import annotations

from pathlib import Path

from cjsdash.cli import app
from ingest.board_extract import SPEC
from metrics.registry import default_registry

REPO = Path(__file__).resolve().parents[2]


def test_every_cli_command_is_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    names = [c.name or c.callback.__name__ for c in app.registered_commands]
    assert names
    for name in names:
        assert f"cjsdash {name}" in readme, name


def test_the_readme_commands_are_the_makefile_targets_ci_runs() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "make serve" in readme and "make test" in readme
    assert "\nserve:" in makefile and "\ntest:" in makefile
    assert "make test" in ci


def test_every_template_column_is_documented() -> None:
    doc = (REPO / "docs" / "board-extract-template.md").read_text(encoding="utf-8")
    template = (REPO / "data" / "templates" / "board_extract_template.csv").read_text()
    for column in (*SPEC.required_columns, *SPEC.optional_columns):
        assert f"`{column}`" in doc, column
        assert column in template.splitlines()[0].split(","), column


def test_template_example_rows_name_real_indicators() -> None:
    registry = default_registry()
    lines = (REPO / "data" / "templates" / "board_extract_template.csv").read_text().splitlines()
    for line in lines[1:]:
        registry.get(line.split(",")[2])
