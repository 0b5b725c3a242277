"""Load, validate and query a YAML rulebook (rules/<name>/*.yaml)."""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from . import rulefiles
from .errors import RulebookError
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

RULEBOOK_NAME = "nichiiki_kankei"


__all__ = ["RulebookError", "Rulebook", "load", "get", "default_rules_dir"]


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


# Ceilings that keep every int64 product of the engine bounded (input amounts are ≤ 1兆円, too):
# amount × rate numerator and amount × months stay far below 2**63.
MAX_PARAM_YEN = 10**12
MAX_RATE = Decimal(1)
MAX_RATE_DECIMALS = 4


class Condition(_Strict):
    """When a line-level exclusion applies: all given parts must hold (categories: any of them).

    `flag` names a yes/no input column (the engine checks it against the column registry).
    """

    main_purpose: str | None = None
    flag: str | None = None
    categories: list[int] = []

    @model_validator(mode="after")
    def _not_empty(self):
        if not (self.main_purpose or self.flag):
            raise ValueError("when には main_purpose（主目的）か flag（はい/いいえの列）が必要です")
        bad = [c for c in self.categories if c not in (1, 2, 3, 4, 5)]
        if bad:
            raise ValueError(f"when.categories は 1〜5 で指定してください（値: {bad}）")
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
            raise ValueError(f"ルール {self.id}: basis: interpretation のルールには setting（interpretations.yaml のキー）が必要です")
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
            raise ValueError(f"values の from は年度の昇順で重複なく書いてください（値: {years}）")
        for v in self.values:
            if self.unit == "yen":
                if not isinstance(v.value, int) or v.value < 0:
                    raise ValueError(f"円の値は0以上の整数で書いてください（値: {v.value!r}）")
                if v.value > MAX_PARAM_YEN:
                    raise ValueError(f"円の値は {MAX_PARAM_YEN:,}円（1兆円）以下にしてください"
                                     f"（値: {v.value:,}）。これを超えると計算が桁あふれします")
            if self.unit == "rate":
                d = _decimal(v.value)
                if d > MAX_RATE or d.as_tuple().exponent < -MAX_RATE_DECIMALS:
                    raise ValueError(f"率は0以上{MAX_RATE}以下、小数{MAX_RATE_DECIMALS}桁までで書いてください（値: {v.value!r}）")
        return self


def _decimal(value: Any) -> Decimal:
    try:
        d = Decimal(str(value))
    except Exception as exc:  # noqa: BLE001 - any parse failure is a schema error
        raise ValueError(f"小数として読めません（値: {value!r}）") from exc
    if not d.is_finite() or d < 0:
        raise ValueError(f"0以上の有限の小数で書いてください（値: {value!r}）")
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
    max_decimals: int = Field(ge=0, le=6)  # amount ≤ 10**12 times a numerator ≤ 10**6 fits int64


class BodyRounding(_Setting):
    """地方交付税法第22条: a body's total rounded to `unit` yen, half up (500円以上切上げ)."""

    unit: Literal[1, 10, 100, 1000]
    mode: Literal["half_up", "floor"]


class Interpretations(_Strict):
    specific_revenue: SpecificRevenue
    rounding: Rounding
    proration: Proration
    fiscal_correction: FiscalCorrection
    coordinator_identity: CoordinatorIdentity
    apportion: Apportion
    body_rounding: BodyRounding


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



MAX_COEFFICIENT = Decimal(10)
COEFFICIENT_DECIMALS = 4  # the engine accepts typed coefficients with at most 4 decimals
_INT64 = 2**63 - 1


def _cross_check(m: RulebookModel, origin: dict[str, str], rule_origin: list[str], folder: Path) -> None:
    """References between parts, and ceilings that keep every product inside int64."""
    def fail(key: str, where: str, text: str):
        raise RulebookError(f"{folder / origin.get(key, '?')}: {where}: {text}")

    known = {r.id for r in m.rules}
    for name, p in m.parameters.items():
        if p.rule not in known:
            fail("parameters", f"parameters.{name}.rule", f"ルールID「{p.rule}」はルールブックにありません")
    for key in Interpretations.model_fields:
        st = getattr(m.interpretations, key)
        if st.rule not in known:
            fail("interpretations", f"interpretations.{key}.rule", f"ルールID「{st.rule}」はルールブックにありません")
    settings = set(Interpretations.model_fields) | set(m.parameters)
    purposes = {p.id for p in m.main_purposes}
    for i, r in enumerate(m.rules):
        f = rule_origin[i] if i < len(rule_origin) else origin.get("rules", "?")
        where = f"{folder / f}: rules.{i}（{r.id}）"
        if r.setting and r.setting not in settings:
            raise RulebookError(f"{where}.setting: 設定「{r.setting}」は interpretations にも parameters にもありません")
        if r.when and r.when.main_purpose and r.when.main_purpose not in purposes:
            raise RulebookError(f"{where}.when.main_purpose: 「{r.when.main_purpose}」は主目的のIDではありません"
                                f"（{'・'.join(sorted(purposes))}）")
        if r.when and "excluded" not in r.messages:
            raise RulebookError(f"{where}.messages: when のあるルールには excluded のメッセージが必要です")
    if [c.id for c in m.categories] != [1, 2, 3, 4, 5]:
        fail("categories", "categories", f"区分は 1〜5 の順に書いてください（値: {[c.id for c in m.categories]}）")
    _check_coefficients(m, fail)


def _check_coefficients(m: RulebookModel, fail) -> None:
    fc = m.interpretations.fiscal_correction
    where = "interpretations.fiscal_correction"
    lo, hi, dflt = Decimal(fc.min_coefficient), Decimal(fc.max_coefficient), Decimal(fc.default_coefficient)
    if hi > MAX_COEFFICIENT:
        fail("interpretations", f"{where}.max_coefficient", f"{MAX_COEFFICIENT}以下にしてください（値: {fc.max_coefficient}）")
    if not lo <= dflt <= hi:
        fail("interpretations", f"{where}.default_coefficient",
             f"min_coefficient〜max_coefficient（{lo}〜{hi}）の範囲にしてください（値: {fc.default_coefficient}）")
    for i, band in enumerate(fc.table):
        c = Decimal(band.coefficient)
        if not lo <= c <= hi or c.as_tuple().exponent < -COEFFICIENT_DECIMALS:
            fail("interpretations", f"{where}.table.{i}.coefficient",
                 f"{lo}〜{hi}、小数{COEFFICIENT_DECIMALS}桁までにしてください（値: {band.coefficient}）")
    for v in dflt, lo, hi:
        if v.as_tuple().exponent < -COEFFICIENT_DECIMALS:
            fail("interpretations", where, f"係数は小数{COEFFICIENT_DECIMALS}桁までにしてください（値: {v}）")
    # amount (≤ 1兆円) × numerator of rate × coefficient must fit int64
    for name, p in m.parameters.items():
        if p.unit != "rate":
            continue
        for j, v in enumerate(p.values):
            r = Decimal(str(v.value))
            dec = max(0, -r.as_tuple().exponent)
            numerator = r * hi * 10 ** (dec + COEFFICIENT_DECIMALS)
            if MAX_PARAM_YEN * numerator > _INT64:
                fail("parameters", f"parameters.{name}.values.{j}.value",
                     f"率の桁数が多すぎ、財政力補正係数（最大{hi}）を乗じると計算が桁あふれします（値: {v.value}）")


# Each top-level key comes from exactly one file, except `rules`, whose lists are joined in file order
# (a rulebook may keep, say, a later period's rules in a file of its own).
LIST_KEYS = ("rules",)


def _merge_files(folder: Path) -> tuple[dict, dict[str, str], bytes, list[str]]:
    """Merged top-level mapping, the file of each key, a digest, and the file of each rule."""
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    rule_origin: list[str] = []
    digest = hashlib.sha256()
    for f in rulefiles.rule_files(folder):
        raw, data = rulefiles.read(f)
        digest.update(f.name.encode() + b"\0" + raw + b"\0")
        if data is None:
            continue
        if not isinstance(data, dict):
            raise RulebookError(f"{f}: 最上位は「キー: 値」の形にしてください（{type(data).__name__} になっています）。")
        for key, value in data.items():
            if key in LIST_KEYS and isinstance(value, list) and isinstance(merged.get(key, []), list):
                merged.setdefault(key, []).extend(value)
                rule_origin.extend([f.name] * len(value))
                origin[key] = origin[key] + "・" + f.name if key in origin else f.name
                continue
            if key in merged:
                raise RulebookError(f"{f}: キー「{key}」は {origin[key]} にもあります。どちらか一方にしてください。")
            merged[key] = value
            origin[key] = f.name
    return merged, origin, digest.digest(), rule_origin


def _duplicate_ids(data: dict, origin: dict[str, str], rule_origin: list[str], folder: Path) -> None:
    """A rule ID or item ID given twice, named with both places (files for rules)."""
    rules = data.get("rules")
    if isinstance(rules, list):
        first: dict[str, tuple[str, int]] = {}
        for i, r in enumerate(rules):
            rid = r.get("id") if isinstance(r, dict) else None
            if not isinstance(rid, str):
                continue
            here = (rule_origin[i], i - rule_origin.index(rule_origin[i]))
            if rid in first:
                (f0, i0), (f1, i1) = first[rid], here
                raise RulebookError(
                    f"{folder / f1}: rules.{i1}.id: ルールID「{rid}」が重複しています"
                    f"（{f0} の rules.{i0} と {f1} の rules.{i1}）。")
            first[rid] = here
    seen: dict[str, str] = {}
    for c_i, c in enumerate(data.get("categories") or []):
        for i_i, it in enumerate((c.get("items") or []) if isinstance(c, dict) else []):
            iid = it.get("id") if isinstance(it, dict) else None
            if isinstance(iid, str):
                here = f"categories.{c_i}.items.{i_i}"
                if iid in seen:
                    raise RulebookError(f"{folder / origin.get('categories', '?')}: {here}.id: 経費項目ID「{iid}」が"
                                        f"重複しています（{seen[iid]} と {here}）。")
                seen[iid] = here


_MESSAGES_JA = {
    "missing": "必須の項目がありません",
    "extra_forbidden": "不明な項目です（書き間違いではありませんか）",
    "string_type": "文字列で書いてください",
    "int_type": "整数で書いてください",
    "int_parsing": "整数で書いてください",
    "int_from_float": "整数で書いてください",
    "bool_type": "true か false で書いてください",
    "bool_parsing": "true か false で書いてください",
    "list_type": "リスト（「- 」で始まる行）で書いてください",
    "dict_type": "「キー: 値」の形で書いてください",
    "model_type": "「キー: 値」の形で書いてください",
    "model_attributes_type": "「キー: 値」の形で書いてください",
    "string_pattern_mismatch": "形式が正しくありません（{pattern}）",
    "greater_than_equal": "{ge}以上にしてください",
    "less_than_equal": "{le}以下にしてください",
    "greater_than": "{gt}より大きくしてください",
    "less_than": "{lt}より小さくしてください",
    "literal_error": "次のいずれかを指定してください: {expected}",
    "string_too_short": "空にはできません",
    "too_short": "少なくとも{min_length}件必要です",
    "too_long": "{max_length}件までです",
}


def _message_ja(err: dict) -> str:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "value_error":
        return str(ctx.get("error", err.get("msg", "")))
    template = _MESSAGES_JA.get(kind)
    if template is None:
        return f"値が正しくありません（{err.get('msg', kind)}）"
    try:
        return template.format(**{k: v for k, v in ctx.items()})
    except (KeyError, IndexError):
        return template


def _format_validation(exc: ValidationError, origin: dict[str, str], folder: Path, data: dict,
                       rule_origin: list[str]) -> str:
    lines = []
    for err in exc.errors():
        loc = err["loc"]
        path = ".".join(str(p) for p in loc) or "(最上位)"
        fname = origin.get(str(loc[0]), "?") if loc else "?"
        if loc and loc[0] == "rules" and len(loc) > 1 and isinstance(loc[1], int) and loc[1] < len(rule_origin):
            fname = rule_origin[loc[1]]
        value = _lookup(data, loc)
        quiet = value is _MISSING or err.get("type") in ("missing", "value_error")  # value_error names its value
        shown = "" if quiet else f"（値: {value!r}）"
        lines.append(f"{folder / fname}: {path}: {_message_ja(err)}{shown}")
    return "\n".join(lines)


_MISSING = object()


def _lookup(data: Any, loc) -> Any:
    cur = data
    for p in loc:
        try:
            cur = cur[p]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    if isinstance(cur, (dict, list)):
        return f"{type(cur).__name__}（{len(cur)}件）"
    if isinstance(cur, str) and len(cur) > 80:
        return cur[:77] + "…"
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
    if not folder.is_dir() and os.path.lexists(folder):
        rulefiles.regular_file(folder)  # a file's folder; a FIFO or device is refused, never read
        folder = folder.parent
    data, origin, digest, rule_origin = _merge_files(folder)
    _duplicate_ids(data, origin, rule_origin, folder)
    try:
        model = RulebookModel.model_validate(data)
    except ValidationError as exc:
        raise RulebookError(_format_validation(exc, origin, folder, data, rule_origin)) from None
    except (ValueError, RecursionError) as exc:
        raise RulebookError(f"{folder}: ルールブックを検証できません（{exc}）") from None
    _cross_check(model, origin, rule_origin, folder)
    return Rulebook(model=model, path=folder, sha256=hashlib.sha256(digest).hexdigest())


@lru_cache(maxsize=8)
def _cached(path: str) -> Rulebook:
    return load(path)


def get(path: str | Path | None = None) -> Rulebook:
    """The rulebook, loaded once per process per folder."""
    folder = Path(path) if path is not None else default_rules_dir()
    return _cached(str(folder.resolve()))
