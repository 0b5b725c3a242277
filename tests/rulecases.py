"""Load the YAML rule cases and apply their rulebook setting overrides on a temp copy."""
from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from tokkou import rulebook

CASES_DIR = Path(__file__).parent / "cases"


def load_cases() -> list[dict]:
    out = []
    for f in sorted(CASES_DIR.glob("*.yaml")):
        doc = yaml.safe_load(f.read_text(encoding="utf-8"))
        for i, case in enumerate(doc["cases"]):
            case = dict(case)
            case["lines"] = [{**doc.get("base", {}), **line} for line in case["lines"]]
            case["_id"] = f"{f.stem}:{i}:{case['rule']}"
            out.append(case)
    return out


def rulebook_with(settings: dict, tmp: Path) -> rulebook.Rulebook:
    """A copy of the shipped rulebook with dotted-path edits (file chosen by top-level key)."""
    src = rulebook.default_rules_dir()
    dst = tmp / "rules"
    shutil.copytree(src, dst)
    files = {}
    for f in dst.glob("*.yaml"):
        data = yaml.safe_load(f.read_text(encoding="utf-8"))
        for key in data:
            files[key] = (f, data)
    for path, value in settings.items():
        top, *rest = path.split(".")
        f, data = files[top]
        node = data[top]
        for k in rest[:-1]:
            node = node[k]
        node[rest[-1]] = value
        f.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return rulebook.load(dst)


def edit_yaml(folder, name, fn) -> None:
    """Load `folder/name`, let `fn` change the data in place, write it back (a rulebook copy's file)."""
    import yaml
    f = folder / name
    data = yaml.safe_load(f.read_text(encoding="utf-8"))
    fn(data)
    f.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
