"""`tokkou` command line: every subcommand's parser and handler, in Japanese.

Handlers only turn arguments into calls of the faces (calc, review, templates, excel, bundle) and print
what was done. Every failure a user can cause ends in one Japanese line and exit status 2; anything else
is exit 3 with a line to pass on, never a traceback. No other tokkou module imports this one.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__
from .cli_ja import Parser, japanese
from .errors import UserError


def main(argv: list[str] | None = None) -> int:
    try:
        with japanese():
            parser = build_parser()
            args = parser.parse_args(argv)
            handler = getattr(args, "func", None)
            if handler is None:  # `tokkou` or `tokkou rules` alone: the commands there are
                (args.help_parser if hasattr(args, "help_parser") else parser).print_help()
                return 2
        return int(handler(args) or 0)
    except KeyboardInterrupt:
        print("中断しました。", file=sys.stderr)
        return 130
    except UserError as exc:
        print(f"エラー: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - a traceback is never shown to a user
        print(f"エラー: 予期しない問題が起きました（{type(exc).__name__}: {str(exc)[:200]}）。"
              "この表示をそのまま開発者にお知らせください。", file=sys.stderr)
        return 3


# ---- arguments -----------------------------------------------------------------------------------

def year_arg(text: str) -> int:
    """A fiscal year as calc reads it (2025, 令和7, R7); anything else is refused by argparse."""
    from .normalize import parse_year
    year, problem = parse_year(text)
    if year is None:
        raise argparse.ArgumentTypeError(f"「{text}」: {problem or '年度として読めません'}")
    return year


def count_arg(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"「{text}」: 1 以上の整数を指定してください") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"「{text}」: 1 以上の整数を指定してください")
    return n


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="tokkou", description="二地域居住・関係人口施策に係る特別交付税の算定（総行政第71号・総行応第133号）")
    p.add_argument("--version", action="version", version=f"tokkou {__version__}", help="版を表示して終了する")
    # no group title: the commands are listed under 引数 below the one 「コマンド」 line (a title
    # would print コマンド twice)
    sub = p.add_subparsers(dest="command", metavar="コマンド", parser_class=Parser)
    _calc_parser(sub)
    _rules_parser(sub)
    _review_parser(sub)
    _template_parser(sub)
    _excel_parsers(sub)
    _bundle_parser(sub)
    return p


def _group(sub, name: str, help: str, dest: str):
    """A command with subcommands; alone it prints its own help (the subcommands it has)."""
    g = sub.add_parser(name, help=help, description=help)
    g.set_defaults(help_parser=g)
    return g, g.add_subparsers(dest=dest, metavar="サブコマンド", parser_class=Parser)


def _calc_parser(sub) -> None:
    c = sub.add_parser("calc", help="経費の行を算定し、結果列を付けて書き出す",
                       description="経費の行（.csv / .xlsx / .json、記入済み様式も可）を算定し、結果列を付けて書き出します。")
    c.add_argument("input", metavar="入力", help="入力ファイル（.csv / .xlsx / .json）")
    c.add_argument("-o", "--output", metavar="出力", help="出力ファイル（拡張子で形式を決定。既定: 入力と同じフォルダの「<入力名>_算定結果.<拡張子>」）")
    c.add_argument("--rules", metavar="フォルダ", help="ルールブックのフォルダ（既定: 同梱の nichiiki_kankei）")
    c.add_argument("--year", type=year_arg, metavar="年度", help="年度が空の行に使う年度（2025・令和7・R7）")
    c.add_argument("--lang", choices=("ja", "en"), help="出力の見出しと判定の言語（既定: 入力の見出しと同じ。JSON のキーは英語）")
    c.add_argument("--totals", metavar="ファイル",
                   help="団体・年度ごとの措置額合計（円・千円）をすべて書き出すファイル（.csv / .xlsx）")
    c.add_argument("--quiet", action="store_true", help="集計表を表示しない")
    c.set_defaults(func=_cmd_calc)


def _rules_parser(sub) -> None:
    _, rsub = _group(sub, "rules", "ルールブックの検証・表示", "rules_command")
    rc = rsub.add_parser("check", help="ルールブックを検証する", description="ルールブックを検証します。")
    rc.add_argument("path", nargs="?", metavar="フォルダ", help="ルールブックのフォルダ（既定: 同梱）")
    rc.add_argument("--rules", metavar="フォルダ", help="ルールブックのフォルダ（位置引数で書いても同じ。既定: 同梱）")
    rc.set_defaults(func=_cmd_rules_check)
    rs = rsub.add_parser("show", help="ルールの一覧（ID・出典・根拠・値）を表示する",
                         description="ルールの一覧（ID・出典・根拠・値）を表示します。")
    rs.add_argument("path", nargs="?", metavar="フォルダ", help="ルールブックのフォルダ（既定: 同梱）")
    rs.add_argument("--rules", metavar="フォルダ", help="ルールブックのフォルダ（位置引数で書いても同じ。既定: 同梱）")
    rs.add_argument("--year", type=year_arg, default=None, metavar="年度", help="値を表示する年度（2025・令和7・R7。既定: 最初の年度）")
    rs.set_defaults(func=_cmd_rules_show)


def _review_parser(sub) -> None:
    r = sub.add_parser("review", help="返ってきた様式を一括で確認し、確認結果のブックを作る",
                       description="返ってきた様式（.xlsx）を一括で確認し、確認結果のブックを作ります。")
    r.add_argument("inputs", nargs="+", metavar="様式", help="様式ファイルまたはフォルダ")
    r.add_argument("-o", "--output", required=True, metavar="出力", help="確認結果のブック（.xlsx）")
    r.add_argument("--json", metavar="JSONファイル", help="同じ内容の JSON の出力先")
    r.add_argument("--rules", metavar="フォルダ", help="ルールブックのフォルダ")
    r.add_argument("--jobs", type=count_arg, default=2, metavar="数", help="並列に処理するプロセス数（既定 2）")
    r.add_argument("--quiet", action="store_true", help="進捗と集計を表示しない")
    r.set_defaults(func=_cmd_review)


def _template_parser(sub) -> None:
    _, tsub = _group(sub, "template", "Excel 様式（テンプレート）", "template_command")
    b = tsub.add_parser("build", help="ルールブックから様式を生成する",
                        description="ルールブックから様式（標準数式版・アドイン版・記入例）を生成します。")
    b.add_argument("-o", "--output", default=None, metavar="フォルダ", help="出力フォルダ（既定: 今いるフォルダの workbook_templates）")
    b.add_argument("--rules", default=None, metavar="フォルダ", help="ルールブックのフォルダ")
    b.set_defaults(func=_cmd_template_build)


def _excel_parsers(sub) -> None:
    _, esub = _group(sub, "excel", "Excel（従来の xlwings アドイン）で tokkou の関数を使う設定", "excel_command")
    s = esub.add_parser("setup", help="xlwings.conf の UDF Modules に tokkou.udfs を追加する（既存の設定は保持）",
                        description="xlwings.conf の UDF Modules に tokkou.udfs を追加します（既存の設定は保持）。")
    s.add_argument("--conf", metavar="ファイル", help="xlwings.conf の場所（既定: ~/.xlwings/xlwings.conf）")
    s.set_defaults(func=_cmd_excel_setup)
    _, lsub = _group(sub, "lite", "xlwings Lite（Python のインストール不要）で使うためのファイル", "lite_command")
    x = lsub.add_parser("export", help="requirements.txt と main.py をフォルダに書き出す",
                        description="xlwings Lite 用の requirements.txt と main.py をフォルダに書き出します。")
    x.add_argument("folder", metavar="フォルダ", help="書き出すフォルダ")
    x.add_argument("--package", required=True, metavar="wheel",
                   help="tokkou の wheel（python -m build で dist/ にできる tokkou-版-py3-none-any.whl）の URL、またはそのファイル")
    x.add_argument("--force", action="store_true", help="既存のファイルを上書きする")
    x.set_defaults(func=_cmd_lite_export)


def _bundle_parser(sub) -> None:
    b = sub.add_parser("bundle", help="インターネットのない PC（LGWAN 端末など）に持ち込むインストール一式を作る",
                       description="tokkou と依存パッケージの wheel 一式（オフライン導入用）と導入手順.txt・install.cmd を作ります。"
                                   "作る PC ではインターネット（PyPI）に接続できる必要があります。")
    b.add_argument("-o", "--output", required=True, metavar="フォルダ", help="書き出すフォルダ（新しいフォルダまたは空のフォルダ）")
    b.add_argument("--platform", default=None, metavar="種類", help="導入先の種類（例: win_amd64。既定: この PC）")
    b.add_argument("--python", default=None, metavar="版", help="導入先の Python の版（例: 3.12。既定: この Python）")
    b.add_argument("--wheel", default=None, metavar="ファイル", help="tokkou の wheel（既定: このソースから作る）")
    b.set_defaults(func=_cmd_bundle)


# ---- handlers ------------------------------------------------------------------------------------

def _cmd_calc(args) -> int:
    from . import calc
    from .files import check_input_file
    src = check_input_file(args.input)
    out = Path(args.output) if args.output else calc.default_output(src)
    summary = calc.run(src, out, rules=args.rules, year=str(args.year) if args.year else None, lang=args.lang,
                       totals_out=Path(args.totals) if args.totals else None)
    if not args.quiet:
        calc.print_summary(summary)
    print(f"書き出しました: {out}")
    if args.totals:
        print(f"団体・年度ごとの合計を書き出しました: {args.totals}")
    return 0


def _rules_folder(args) -> str | None:
    """`rules check|show`: the folder given as the positional argument or as --rules (as calc takes it)."""
    if args.path and args.rules and Path(args.path).resolve() != Path(args.rules).resolve():
        raise UserError(f"ルールブックのフォルダが2つ指定されています（「{args.path}」と --rules「{args.rules}」）。"
                        "どちらか一方にしてください。")
    return args.path or args.rules


def _cmd_rules_check(args) -> int:
    from . import engine
    rb = engine.check(_rules_folder(args))  # schema, then the engine and the rulebook agree both ways
    print(f"OK: {rb.path} — ルール {len(rb.rule_ids)} 件、経費項目 {len(rb.items)} 件、sha256 {rb.short_hash}")
    return 0


def _cmd_rules_show(args) -> int:
    from . import rulebook, terminal
    rb = rulebook.load(_rules_folder(args))
    terminal.print_rules(rb, args.year)
    return 0


def _cmd_review(args) -> int:
    from . import review
    return review.run(args.inputs, Path(args.output), json_path=Path(args.json) if args.json else None,
                      rules=args.rules, jobs=args.jobs, quiet=args.quiet)


def _cmd_template_build(args) -> int:
    from . import rulebook, templates
    from .errors import InputError
    from .files import os_reason, probe_writable
    out = Path(args.output) if args.output else Path.cwd() / "workbook_templates"
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: フォルダではありません。")
    try:
        (out / "examples").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out}: フォルダを作れません（{os_reason(exc)}）。") from None
    probe_writable(out)
    for p in templates.build_all(out, rulebook.get(args.rules) if args.rules else None):
        print(f"作成: {p}")
    print(f"様式を書き出しました: {out}")
    return 0


def _cmd_excel_setup(args) -> int:
    from . import excel
    from .errors import InputError
    conf = Path(args.conf) if args.conf else excel.user_config_path()
    try:
        value, previous = excel.add_udf_module(conf)
    except OSError as exc:
        from .files import os_reason
        raise InputError(f"{conf}: 書き込めません（{os_reason(exc)}）。") from None
    if previous is not None and value == previous:
        print(f"設定済みです: {conf} の UDF Modules = {value}")
    else:
        print(f"{conf} の UDF Modules を「{value}」にしました。")
    print("次に: (1) xlwings addin install でアドインを入れる（初回のみ）、"
          "(2) Excel の xlwings タブで Import Functions を押す。")
    return 0


def _cmd_lite_export(args) -> int:
    from . import excel
    for p in excel.export_lite(Path(args.folder), args.package, args.force):
        print(f"書き出しました: {p}")
    print("xlwings Lite のエディタで requirements.txt と main.py の内容をそれぞれのタブに貼り付けてください。")
    return 0


def _cmd_bundle(args) -> int:
    from . import bundle
    result = bundle.make(Path(args.output), platform=args.platform, python=args.python,
                         wheel=Path(args.wheel) if args.wheel else None)
    print(f"書き出しました: {result.folder}（wheel {len(result.wheels)} 個、{result.platform}、Python {result.python}）")
    script = "install.cmd" if result.platform.startswith("win") else f"install.sh（PYTHON=python{result.python} sh install.sh）"
    print(f"導入先の PC では {result.folder / script} を実行します（手順は {result.folder / '導入手順.txt'}）。")
    return 0


if __name__ == "__main__":
    sys.exit(main())
