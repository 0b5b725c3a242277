"""Load, validate and query a YAML rulebook (rules/<name>/*.yaml)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

RULEBOOK_NAME = "nichiiki_kankei"

from .errors import RulebookError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Notice(_Strict):
    numbers: list[str] = Field(min_length=1)
    date: str
    date_ja: str
    title: str
    issuers: list[str] = Field(min_length=1)


class Vocab(_Strict):
    id: str
    label: str
    aliases: list[str] = []
    eligible: bool = True


class Item(_Strict):
    id: str = Field(pattern=r"^C[1-5]-\d{2}$")
    label: str
    sources: list[str] = Field(min_length=1)
    digital_bond: bool = False
    facility: bool = False
    study: bool = False
    food_excluded: bool = False
    placement: bool = False  # ④: the coordinator's placement (報償費等), not a cost item


class Category(_Strict):
    id: int = Field(ge=1, le=5)
    symbol: str
    name: str
    title: str
    rate_kind: Literal["general", "coordinator"]
    citation: str = Field(min_length=1)
    items: list[Item] = Field(min_length=1)


LINE_FLAGS = ("national_subsidy", "cash_benefit", "new_construction")


class Condition(_Strict):
    """When a line-level exclusion applies: all given parts must hold (categories: any of them)."""

    main_purpose: str | None = None
    flag: Literal["national_subsidy", "cash_benefit", "new_construction"] | None = None
    categories: list[int] = []

    @model_validator(mode="after")
    def _not_empty(self):
        if not (self.main_purpose or self.flag):
            raise ValueError("a condition needs main_purpose or flag")
        return self


class Rule(_Strict):
    id: str = Field(pattern=r"^[A-Z][A-Z0-9-]+$")
    title: str
    citation: str = Field(min_length=1)
    quote: str = Field(min_length=1)
    basis: Literal["notice", "interpretation"]
    setting: str | None = None
    when: Condition | None = None  # line-level exclusion, read by the engine and the template generator
    messages: dict[str, str] = Field(min_length=1)

    @model_validator(mode="after")
    def _interpretation_has_setting(self):
        if self.basis == "interpretation" and not self.setting:
            raise ValueError("an interpretation rule needs `setting` (its key in interpretations.yaml)")
        return self


class DatedValue(_Strict):
    from_: int = Field(alias="from", ge=2000, le=2100)
    value: int | str

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Parameter(_Strict):
    rule: str
    unit: Literal["rate", "yen"]
    description: str
    values: list[DatedValue] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_values(self):
        years = [v.from_ for v in self.values]
        if years != sorted(set(years)):
            raise ValueError(f"values must be in increasing, distinct `from` years, got {years}")
        for v in self.values:
            if self.unit == "yen" and (not isinstance(v.value, int) or v.value < 0):
                raise ValueError(f"a yen value must be a non-negative integer, got {v.value!r}")
            if self.unit == "rate":
                _decimal(v.value)
        return self


def _decimal(value: Any) -> Decimal:
    try:
        d = Decimal(str(value))
    except Exception as exc:  # noqa: BLE001 - any parse failure is a schema error
        raise ValueError(f"not a decimal number: {value!r}") from exc
    if not d.is_finite() or d < 0:
        raise ValueError(f"a rate must be a finite non-negative decimal, got {value!r}")
    return d


class _Setting(_Strict):
    rule: str
    basis: Literal["interpretation"]
    description: str


class SpecificRevenue(_Setting):
    deduct: bool


class Rounding(_Setting):
    unit: Literal[1, 10, 100, 1000]
    mode: Literal["floor"]


class Proration(_Setting):
    mode: Literal["none", "monthly"]


def _decimal_text(v: str) -> str:
    _decimal(v)
    return v


DecimalText = Annotated[str, AfterValidator(_decimal_text)]  # a rate kept as written, checked as a Decimal


class CorrectionBand(_Strict):
    below: DecimalText
    coefficient: DecimalText


class FiscalCorrection(_Setting):
    default_coefficient: DecimalText
    min_coefficient: DecimalText
    max_coefficient: DecimalText
    table: list[CorrectionBand] = []


class CoordinatorIdentity(_Setting):
    require_person_id: bool


class Apportion(_Setting):
    require_ratio_for_mixed: bool
    max_decimals: int = Field(ge=0, le=9)


class Interpretations(_Strict):
    specific_revenue: SpecificRevenue
    rounding: Rounding
    proration: Proration
    fiscal_correction: FiscalCorrection
    coordinator_identity: CoordinatorIdentity
    apportion: Apportion


class RulebookModel(_Strict):
    name: str
    title: str
    notice: Notice
    valid_from: int
    body_types: list[Vocab]
    main_purposes: list[Vocab]
    employments: list[Vocab]
    other_measures: list[Vocab]
    categories: list[Category] = Field(min_length=5, max_length=5)
    rules: list[Rule]
    parameters: dict[str, Parameter]
    interpretations: Interpretations

    @model_validator(mode="after")
    def _cross_checks(self):
        ids = [r.id for r in self.rules]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicated rule ID(s): {', '.join(dup)}")
        known = set(ids)
        for name, p in self.parameters.items():
            if p.rule not in known:
                raise ValueError(f"parameter {name} cites unknown rule {p.rule}")
        for key in Interpretations.model_fields:
            s = getattr(self.interpretations, key)
            if s.rule not in known:
                raise ValueError(f"interpretation {key} cites unknown rule {s.rule}")
        settings = set(Interpretations.model_fields) | set(self.parameters)
        for r in self.rules:
            if r.setting and r.setting not in settings:
                raise ValueError(f"rule {r.id} names unknown setting {r.setting!r}")
        purposes = {p.id for p in self.main_purposes}
        for r in self.rules:
            if r.when and r.when.main_purpose and r.when.main_purpose not in purposes:
                raise ValueError(f"rule {r.id}: when.main_purpose {r.when.main_purpose!r} is not a main purpose id")
            if r.when and "excluded" not in r.messages:
                raise ValueError(f"rule {r.id}: a rule with `when` needs an `excluded` message")
        item_ids = [i.id for c in self.categories for i in c.items]
        dup = sorted({i for i in item_ids if item_ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicated item ID(s): {', '.join(dup)}")
        if [c.id for c in self.categories] != [1, 2, 3, 4, 5]:
            raise ValueError("categories must be 1..5 in order")
        return self


# Which top-level key may come from which file is free; each key must appear exactly once.
def _merge_files(folder: Path) -> tuple[dict, dict[str, str], bytes]:
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise RulebookError(f"{folder}: no *.yaml files")
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    digest = hashlib.sha256()
    for f in files:
        raw = f.read_bytes()
        digest.update(f.name.encode() + b"\0" + raw + b"\0")
        try:
            data = yaml.safe_load(raw.decode("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise RulebookError(f"{f}: not valid YAML: {exc}") from None
        if data is None:
            continue
        if not isinstance(data, dict):
            raise RulebookError(f"{f}: the top level must be a mapping, got {type(data).__name__}")
        for key, value in data.items():
            if key in merged:
                raise RulebookError(f"{f}: key '{key}' is already defined in {origin[key]}")
            merged[key] = value
            origin[key] = f.name
    return merged, origin, digest.digest()


def _format_validation(exc: ValidationError, origin: dict[str, str], folder: Path, data: dict) -> str:
    lines = []
    for err in exc.errors():
        loc = err["loc"]
        path = ".".join(str(p) for p in loc) or "(top)"
        fname = origin.get(str(loc[0]), "?") if loc else "?"
        value = _lookup(data, loc)
        shown = "" if value is _MISSING else f" (value: {value!r})"
        lines.append(f"{folder / fname}: {path}: {err['msg']}{shown}")
    return "\n".join(lines)


_MISSING = object()


def _lookup(data: Any, loc) -> Any:
    cur = data
    for p in loc:
        try:
            cur = cur[p]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    if isinstance(cur, (dict, list)) and len(repr(cur)) > 80:
        return f"{type(cur).__name__}…"
    return cur


@dataclass(frozen=True)
class Rulebook:
    """A validated rulebook, with lookups the engine and faces share."""

    model: RulebookModel
    path: Path
    sha256: str

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def short_hash(self) -> str:
        return self.sha256[:12]

    @cached_property
    def _rules(self) -> dict[str, Rule]:
        return {r.id: r for r in self.model.rules}

    def rule(self, rule_id: str) -> Rule:
        return self._rules[rule_id]

    @property
    def rule_ids(self) -> list[str]:
        return list(self._rules)

    def param(self, name: str, fiscal_year: int) -> int | Decimal:
        """The value in force for `fiscal_year` (latest entry with from <= year)."""
        p = self.model.parameters[name]
        chosen = None
        for v in p.values:
            if v.from_ <= fiscal_year:
                chosen = v
        if chosen is None:
            chosen = p.values[0]
        return Decimal(str(chosen.value)) if p.unit == "rate" else int(chosen.value)

    def param_years(self) -> list[int]:
        """Every fiscal year in which some parameter changes (sorted)."""
        return sorted({v.from_ for p in self.model.parameters.values() for v in p.values})

    def params_for(self, fiscal_year: int) -> dict[str, int | Decimal]:
        return {k: self.param(k, fiscal_year) for k in self.model.parameters}

    @property
    def items(self) -> list[tuple[Category, Item]]:
        return [(c, i) for c in self.model.categories for i in c.items]

    def category(self, cat_id: int) -> Category:
        return self.model.categories[cat_id - 1]

    @property
    def interp(self) -> Interpretations:
        return self.model.interpretations


def default_rules_dir() -> Path:
    """rules/<name> of the checkout, else the copy packaged in the wheel."""
    here = Path(__file__).resolve().parent
    for cand in (here.parent.parent / "rules" / RULEBOOK_NAME, here / "rules" / RULEBOOK_NAME):
        if cand.is_dir():
            return cand
    raise RulebookError(f"rulebook folder rules/{RULEBOOK_NAME} not found")


def load(path: str | Path | None = None) -> Rulebook:
    """Load and validate a rulebook folder (or one of its files' folder)."""
    folder = Path(path) if path is not None else default_rules_dir()
    if folder.is_file():
        folder = folder.parent
    if not folder.is_dir():
        raise RulebookError(f"{folder}: no such rulebook folder")
    data, origin, digest = _merge_files(folder)
    try:
        model = RulebookModel.model_validate(data)
    except ValidationError as exc:
        raise RulebookError(_format_validation(exc, origin, folder, data)) from None
    except ValueError as exc:
        raise RulebookError(f"{folder}: {exc}") from None
    return Rulebook(model=model, path=folder, sha256=hashlib.sha256(digest).hexdigest())


@lru_cache(maxsize=8)
def _cached(path: str) -> Rulebook:
    return load(path)


def get(path: str | Path | None = None) -> Rulebook:
    """The rulebook, loaded once per process per folder."""
    folder = Path(path) if path is not None else default_rules_dir()
    return _cached(str(folder.resolve()))
