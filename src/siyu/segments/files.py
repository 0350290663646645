"""Definitions kept in a project folder (in git): ``segments/*.yaml|yml|json``, ``models.yaml``.

A file holds one definition (a mapping with ``key``) or a list of them. Files are read
on every compute and listing; a definition from a file cannot be edited through the API
(its file is the source of truth), and a file that no longer defines a key archives it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import yaml

from siyu.segments.definition import Definition, parse_definition
from siyu.segments.exceptions import InvalidDefinition

SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class FileDefinition:
    definition: Definition
    path: Path


@dataclass(frozen=True)
class FileProblem:
    path: Path
    message: str


def read_documents(path: Path) -> Any:
    """Parsed YAML or JSON; a syntax error names the file and line."""
    text = path.read_text(encoding="utf-8-sig")
    try:
        if path.suffix == ".json":
            return orjson.loads(text)
        return yaml.safe_load(text)
    except (yaml.YAMLError, orjson.JSONDecodeError) as exc:
        raise InvalidDefinition(str(path), f"cannot be parsed: {exc}") from None


def load_folder(folder: Path) -> tuple[list[FileDefinition], list[FileProblem]]:
    """Every definition under ``folder/segments`` and the files or entries that failed."""
    found: list[FileDefinition] = []
    problems: list[FileProblem] = []
    seen: dict[str, Path] = {}
    root = folder / "segments"
    if not root.is_dir():
        return found, problems
    for path in sorted(p for p in root.rglob("*") if p.suffix in SUFFIXES and p.is_file()):
        try:
            doc = read_documents(path)
        except (InvalidDefinition, UnicodeDecodeError, OSError) as exc:
            problems.append(FileProblem(path, str(exc)))
            continue
        entries = doc if isinstance(doc, list) else [doc]
        for i, entry in enumerate(entries):
            try:
                definition = parse_definition(entry)
            except InvalidDefinition as exc:
                where = f"[{i}] " if len(entries) > 1 else ""
                problems.append(FileProblem(path, f"{where}{exc}"))
                continue
            if definition.key in seen:
                problems.append(
                    FileProblem(
                        path, f"key {definition.key!r} is also defined in {seen[definition.key]}"
                    )
                )
                continue
            seen[definition.key] = path
            found.append(FileDefinition(definition, path))
    return found, problems


def load_models_file(folder: Path) -> Any:
    """The parsed ``models.yaml`` (or ``.json``) of the project folder, None when absent."""
    for name in ("models.yaml", "models.yml", "models.json"):
        path = folder / name
        if path.is_file():
            return read_documents(path)
    return None
