"""`tokkou rules check`: the rulebook and the engine agree, both ways.

Run by `engine.context` the first time it meets a rulebook, so calc refuses the same rulebooks.
Static: every message the engine shows exists, every {placeholder} names a parameter, every
`when.flag` is a yes/no column of the registry. Dynamic: the engine runs `PROBE` (every stage);
then every parameter, setting and item flag of the rulebook must have been read, and every rule
must be one the engine can show. Each problem is one Japanese line with file, key path, value.
"""
from __future__ import annotations

from pathlib import Path

from . import render
from .engine_context import NOTE_RULES, OTHER_MESSAGES, RULE_ERRORS
from .rulebook import Interpretations, Item, Rulebook

# Item flags read by a face, not by the engine (with the reason).
FACE_FLAGS = {"placement": "テンプレートの④「配置の種類」の選択肢（layout.placement_items）"}


def _rule_file(rb: Rulebook, index: int) -> Path:
    return rb.path / "rules.yaml"


def static_problems(ctx) -> list[str]:
    rb = ctx.rb
    out: list[str] = []
    shown = set(ctx.events) | set(_rule_errors()) | set(_other_messages())
    for rid, variant in sorted(shown):
        if rid not in rb.rule_ids:
            out.append(f"{rb.path}/rules.yaml: rules: ルール「{rid}」がありません（エンジンが使います）。")
        elif variant not in rb.rule(rid).messages:
            out.append(f"{rb.path}/rules.yaml: {rid}.messages.{variant}: メッセージ「{variant}」がありません（エンジンが使います）。")
    known = set(rb.model.parameters) | set(render.EXTRA_PLACEHOLDERS)
    for i, r in enumerate(rb.model.rules):
        for variant, text in r.messages.items():
            where = f"{_rule_file(rb, i)}: rules.{i}（{r.id}）.messages.{variant}"
            try:
                fields = render.message_fields(text)
            except ValueError:
                out.append(f"{where}: {{ }} の対応が正しくありません（値: {text!r}）。")
                continue
            for f in fields:
                if f not in known:
                    out.append(f"{where}: 差し込み「{{{f}}}」に当たるパラメータがありません（値: {text!r}。"
                               f"使えるもの: {'・'.join(sorted(known))}）。")
        if r.when is not None and r.when.flag is not None and r.when.flag not in ctx.flag_columns:
            out.append(f"{_rule_file(rb, i)}: rules.{i}（{r.id}）.when.flag: 「{r.when.flag}」ははい/いいえの列ではありません"
                       f"（使えるもの: {'・'.join(ctx.flag_columns)}）。")
    return out


def _rule_errors():
    return RULE_ERRORS


def _other_messages():
    return OTHER_MESSAGES


# A probe that walks every stage: each category, a deduction of each kind, a mixed purpose,
# a prefecture grant, both employments with months, a study coordinator, a fiscal index.
PROBE = [
    {"body_type": "都道府県", "fiscal_year": 2025, "category": 1, "item": "C1-08", "cost": 1000,
     "specific_revenue": 100, "bond_amount": 100, "excluded_amount": 10, "pref_grant": "はい"},
    {"body_type": "市町村", "fiscal_year": 2025, "category": 3, "item": "C3-06", "cost": 1000, "bond_amount": 10,
     "main_purpose": "観光・産業振興", "apportion_ratio": "0.5", "fiscal_index": "0.4", "food_amount": 5},
    {"body_type": "市町村", "fiscal_year": 2025, "category": 4, "item": "C4-11", "cost": 1000, "food_amount": 5,
     "person_id": "A", "employment": "専任", "months_served": 6},
    {"body_type": "市町村", "fiscal_year": 2025, "category": 4, "cost": 1000, "person_id": "B",
     "employment": "兼務", "study_coordinator": "はい", "in_strategy_plan": "はい"},
    {"body_type": "特別区", "fiscal_year": 2024, "category": 5, "cost": 1000, "cash_benefit": "はい"},
]


def usage_problems(ctx) -> list[str]:
    rb = ctx.rb
    out = []
    for name in rb.model.parameters:
        if f"parameters.{name}" not in ctx.used:
            out.append(f"{rb.path}/parameters.yaml: parameters.{name}: パラメータ「{name}」はエンジンが使いません"
                       f"（名前の書き間違いではありませんか）。")
    for name in Interpretations.model_fields:
        if f"interpretations.{name}" not in ctx.used:
            out.append(f"{rb.path}/interpretations.yaml: interpretations.{name}: 設定「{name}」がエンジンで適用されていません。")
    flags = [k for k, f in Item.model_fields.items() if f.annotation in (bool, "bool")]
    for name in flags:
        if f"items.{name}" not in ctx.used and name not in FACE_FLAGS:
            out.append(f"{rb.path}/categories.yaml: categories.*.items.*.{name}: 経費項目のフラグ「{name}」を"
                       f"エンジンが使っていません。")
    if "categories.rate_kind" not in ctx.used:
        out.append(f"{rb.path}/categories.yaml: categories.*.rate_kind: rate_kind をエンジンが使っていません。")
    shown = ({rid for rid, _ in ctx.events} | {rid for rid, _ in _rule_errors()} | {rid for rid, _ in _other_messages()}
             | set(NOTE_RULES))
    for i, r in enumerate(rb.model.rules):
        if r.id not in shown:
            out.append(f"{_rule_file(rb, i)}: rules.{i}.id: ルール「{r.id}」はエンジンで適用されていません"
                       f"（when も設定もなく、エンジンの判定にもありません）。")
    return out
