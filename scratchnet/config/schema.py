"""params.yaml's sections as typed objects, validated from the hyperparameters their classes declare.

params.yaml is the only source of hyperparameters: no section here holds a default.
A section class (a frozen dataclass, defined by the code that reads the section,
for example ``training.sections.TrainParams``) names its section in ``SECTION`` and
declares its keys as fields with constraints (base/constraints.py), or, where its
keys come from registries, lists them in a ``keys()`` classmethod and builds
itself in ``from_values``. Errors name every bad key, the value and what is
allowed, and suggest the key meant for a misspelled one.

A stage validates the sections it reads (``load(ModelParams, TrainParams)``), as
DVC tracks the params each stage declares.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from typing import Any

from ..base import atomic
from ..base.boundary import say
from ..base.constraints import Constraint, Invalid, declared, short
from ..base.errors import ParamsError
from . import yamlfile

# The sections of params.yaml, in the file's order: every stage knows them all, to catch a misspelled one.
SECTION_NAMES = ("data", "split", "model", "train", "evaluate")


def keys(section_class: Any) -> dict[str, Constraint]:
    """{params.yaml key: constraint} of a section."""
    if hasattr(section_class, "keys"):
        return section_class.keys()
    return {key: constraint for key, (_, constraint) in declared(section_class).items()}


def build(section_class: Any, values: Mapping[str, Any]) -> Any:
    """The section object from its validated values (keys as params.yaml spells them)."""
    if hasattr(section_class, "from_values"):
        return section_class.from_values(values)
    return section_class(**{name: values[key] for key, (name, _) in declared(section_class).items()})


def as_dict(section: Any) -> dict[str, Any]:
    """A section as params.yaml spells it ({"lambda": ...}, lists for tuples): for JSON records."""
    if hasattr(section, "values"):
        return dict(section.values)
    return {
        key: list(value) if isinstance(value := getattr(section, name), tuple) else value
        for key, (name, _) in declared(type(section)).items()
    }


def _suggest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def _section(section_class: Any, values: Any, problems: list[str]) -> Any:
    """The section object from its raw mapping, or None with ``problems`` extended."""
    name = section_class.SECTION
    if not isinstance(values, dict):
        problems.append(f"section '{name}' must be a mapping of keys, got {short(values)}")
        return None
    schema = keys(section_class)
    known = [f"{name}.{k}" for k in schema]
    parsed, before = {}, len(problems)
    for key, value in values.items():
        dotted = f"{name}.{short(key) if not isinstance(key, str) else key}"
        if key not in schema:
            problems.append(f"unknown key {dotted if len(dotted) <= 80 else short(dotted)}{_suggest(dotted, known)}")
            continue
        try:
            parsed[key] = schema[key].convert(value)
        except Invalid as e:
            problems.append(f"{dotted} = {short(value)} is not allowed: expected {e}")
    problems += [f"missing key {name}.{k} ({c.describe()})" for k, c in schema.items() if k not in values]
    if len(problems) > before:
        return None
    try:
        return build(section_class, parsed)
    except Invalid as e:  # a rule across keys (split fractions that leave nothing to train on)
        problems.append(str(e))
        return None


def validate(raw: Any, *section_classes: Any, where: str = "params.yaml") -> list[Any]:
    """The sections of ``section_classes`` built from ``raw`` (the parsed YAML), in that order;
    ParamsError listing every problem found."""
    if not isinstance(raw, dict):
        raise ParamsError(f"{where}: expected sections {', '.join(SECTION_NAMES)}, found {type(raw).__name__}")
    problems = [
        f"unknown section {short(s)}{_suggest(s, list(SECTION_NAMES)) if isinstance(s, str) else ''}"
        for s in raw
        if s not in SECTION_NAMES
    ]
    problems += [f"missing section '{c.SECTION}'" for c in section_classes if c.SECTION not in raw]
    built = [_section(c, raw[c.SECTION], problems) for c in section_classes if c.SECTION in raw]
    if problems:
        raise ParamsError(
            f"{where}: " + "\n  ".join(problems) + f" ({UNDO})"
            if len(problems) == 1
            else f"{where} has {len(problems)} problems ({UNDO}):\n  " + "\n  ".join(problems)
        )
    return built


UNDO = "fix it, or return to the committed values with `git checkout params.yaml`"


class Loaded(list):
    """The sections a stage read (unpack them as a list); ``values``, what they mean as params.yaml
    spells them (the same for ``lr: "0.001"`` and ``lr: 0.001``: whatever names a run or goes
    into an output is built from these, so the two give byte-identical outputs); and ``verify()``.

    A stage verifies, before its outputs replace the previous ones, that params.yaml still holds
    what its sections were built from, so that DVC never records params beside outputs made from
    others. If params.yaml changed while the stage ran (an editor, `git stash`, or a second `dvc exp
    run -S` that DVC rewrites params.yaml for before its lock refuses it), the run is kept: the
    changed file is moved to ``params.yaml.changed``, params.yaml gets back the text the stage read,
    and the stage finishes, so DVC records the params the outputs were made from."""

    def __init__(self, sections: list[Any], path: str, raw: dict[str, Any], text: str | None = None):
        super().__init__(sections)
        self.path, self.raw, self.text = path, raw, text
        self.values = {s.SECTION: as_dict(s) for s in sections}

    def verify(self) -> None:
        try:
            now, now_text = yamlfile.read_with_text(self.path)
        except ParamsError:
            now, now_text = None, None
        names = [s.SECTION for s in self]
        changed = [n for n in names if not isinstance(now, dict) or now.get(n) != self.raw.get(n)]
        if not changed:
            return
        if self.text is None:
            raise ParamsError(
                f"{self.path}: it changed while this stage ran (section {', '.join(changed)}); its outputs were "
                "not written, so DVC records nothing that disagrees with params.yaml: run the stage again "
                "(`dvc repro`)"
            )
        aside = f"{self.path}.changed"
        if now_text is not None:
            atomic.write_text(aside, now_text)
        elif os.path.lexists(self.path):
            os.replace(self.path, aside)
        atomic.write_text(self.path, self.text)
        say(
            f"note: {self.path} changed while this stage ran (section {', '.join(changed)}): by an editor, "
            "`git stash`, or a second `dvc exp run` that DVC's lock refused after rewriting params.yaml. "
            f"This run keeps the values it read: {self.path} holds them again, so DVC records them with its "
            f"outputs; the changed file is {aside} (`mv {aside} {self.path}` once this run is over)"
        )


def load(*section_classes: Any, path: str = "params.yaml") -> Loaded:
    """Read ``path`` and build ``section_classes``; ParamsError if anything is wrong."""
    raw, text = yamlfile.read_with_text(path)
    sections = validate(raw, *section_classes, where=path)
    return Loaded(sections, path, {c.SECTION: raw[c.SECTION] for c in section_classes}, text)
