"""`tokkou` command line. Every failure a user can cause ends in one Japanese line, exit 2."""
from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from . import __version__
from .rulebook import RulebookError
from .tabular import InputError

# Faces that add their own subcommands: each module has register(subparsers).
_FACES: tuple[str, ...] = ("excel", "templates", "review")


# Bad arguments or an unusable file: one line for the user. One class, defined outside this module,
# so faces raising it are caught even when this file runs as __main__ (`python -m tokkou.cli`).
UsageError = InputError


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("中断しました。", file=sys.stderr)
        return 130
    except (InputError, RulebookError) as exc:
        print(f"エラー: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - a traceback is never shown to a user
        print(f"エラー: 予期しない問題が起きました（{type(exc).__name__}: {str(exc)[:200]}）。"
              "この表示をそのまま開発者にお知らせください。", file=sys.stderr)
        return 3


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tokkou", description="二地域居住・関係人口施策に係る特別交付税の算定")
    p.add_argument("--version", action="version", version=f"tokkou {__version__}")
    sub = p.add_subparsers(dest="command")

    c = sub.add_parser("calc", help="経費の行を算定し、結果列を付けて書き出す")
    c.add_argument("input", help="入力ファイル（.csv / .xlsx / .json）")
    c.add_argument("-o", "--output", required=True, help="出力ファイル（拡張子で形式を決定）")
    c.add_argument("--rules", help="ルールブックのフォルダ（既定: rules/nichiiki_kankei）")
    c.add_argument("--year", help="年度列が空の行に使う年度（例: 令和7）")
    c.add_argument("--quiet", action="store_true", help="集計表を表示しない")
    c.set_defaults(func=_cmd_calc)

    r = sub.add_parser("rules", help="ルールブックの検証・表示")
    rsub = r.add_subparsers(dest="rules_command")
    rc = rsub.add_parser("check", help="ルールブックをスキーマで検証する")
    rc.add_argument("path", nargs="?", help="ルールブックのフォルダ")
    rc.set_defaults(func=_cmd_rules_check)
    rs = rsub.add_parser("show", help="ルールの一覧を表示する")
    rs.add_argument("path", nargs="?", help="ルールブックのフォルダ")
    rs.add_argument("--year", type=int, default=2025, help="パラメータを表示する年度（既定 2025）")
    rs.set_defaults(func=_cmd_rules_show)
    for name in _FACES:
        importlib.import_module(f"tokkou.{name}").register(sub)
    return p


def _cmd_calc(args) -> int:
    from . import calc
    summary = calc.run(Path(args.input), Path(args.output), rules=args.rules, year=args.year)
    if not args.quiet:
        calc.print_summary(summary)
    return 0


def _cmd_rules_check(args) -> int:
    from . import rulebook
    from . import engine
    rb = rulebook.load(args.path)
    engine.context(rb)  # the engine's own needs (every message variant it shows) are part of the check
    print(f"OK: {rb.path} — ルール {len(rb.rule_ids)} 件、経費項目 {len(rb.items)} 件、"
          f"sha256 {rb.short_hash}")
    return 0


def _cmd_rules_show(args) -> int:
    from rich.console import Console
    from rich.table import Table
    from . import rulebook
    rb = rulebook.load(args.path)
    values: dict[str, list[str]] = {}
    for name, p in rb.model.parameters.items():
        values.setdefault(p.rule, []).append(f"{name}={rb.param(name, args.year)}")
    for key in type(rb.interp).model_fields:
        s = getattr(rb.interp, key)
        shown = {k: v for k, v in s.model_dump().items() if k not in ("rule", "basis", "description")}
        values.setdefault(s.rule, []).append(f"{key}: {shown}")
    t = Table(title=f"{rb.model.title}（{rb.name}, {args.year}年度, sha256 {rb.short_hash}）")
    for col in ("ルールID", "出典", "根拠", "内容", "値"):
        t.add_column(col, overflow="fold")
    for r in rb.model.rules:
        t.add_row(r.id, r.citation, "通知" if r.basis == "notice" else "解釈", r.title,
                  "\n".join(values.get(r.id, [])))
    Console().print(t)
    return 0


if __name__ == "__main__":
    sys.exit(main())
