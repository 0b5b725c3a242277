"""`tokkou template build`: the workbook templates, generated from the rulebook.

Two variants of one layout (tokkou.layout): `native` computes with plain Excel formulas that read
every cap, rate and list from the protected ルール sheet; `addin` calls the tokkou UDFs. The native
formulas mirror the engine's structure and take every number from the rulebook; the LibreOffice
cross-check test proves them equal to the engine. Output is byte-for-byte reproducible.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from . import __version__, columns, engine, layout as L
from .files import atomic_write
from . import rulebook as rulebook_mod
from .rulebook import Rulebook

FIXED_TIME = _dt.datetime(2025, 4, 2, 0, 0, 0)  # the notice's date: reproducible docProps
MAX_YEN = 10**12
COEF_DECIMALS = 4  # the engine accepts 財政力補正係数 with at most 4 decimals
YES, NO = L.YES, L.NO


def q(text: str) -> str:
    """An Excel string literal."""
    return '"' + str(text).replace('"', '""') + '"'


def _decimals(d: Decimal) -> int:
    return max(0, -d.normalize().as_tuple().exponent)


def floordiv(a: str, n: str, s: str) -> str:
    """floor(a × n ÷ s) for integers 0 ≤ a ≤ 1e12, 0 ≤ n ≤ s, exact in IEEE doubles.

    a×n can exceed 2^53, so a is split at s: floor(a·n/s) = ⌊a/s⌋·n + ⌊(a mod s)·n/s⌋, and every
    product stays below 2^53. (ROUNDDOWN(a*0.29,0) can floor 28.999999… to 28; this cannot.)
    """
    hi = f"INT(({a})/{s})"
    return f"({hi}*{n}+INT((({a})-{hi}*{s})*{n}/{s}))"


@dataclass
class Fill:
    """Inputs to write into a template (sample, tests): body values, 事業 rows, coordinator rows."""

    body: dict[str, Any] = field(default_factory=dict)
    lines: list[dict[str, Any]] = field(default_factory=list)          # keys: layout.LINE_COLUMNS inputs
    coordinators: list[dict[str, Any]] = field(default_factory=list)   # keys: coordinator inputs
    cached: dict | None = None  # {(sheet, row, key): value} cached results of formula cells


class _Builder:
    def __init__(self, path: Path, variant: str, rb: Rulebook, fill: Fill | None):
        self.path, self.variant, self.rb, self.fill = path, variant, rb, fill or Fill()
        self.lay = L.get(rb)
        self.m = rb.model
        self.wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                                                   "strings_to_urls": False})
        self.wb.set_properties({"title": f"{self.m.title} 算定様式", "created": FIXED_TIME,
                                "author": "tokkou", "comments": f"rulebook sha256 {rb.sha256}"})
        self.wb.set_calc_mode("auto")
        self._fmt_cache: dict = {}
        self.names: dict[str, str] = {}
        self.messages = self._messages()

    # ---- formats ------------------------------------------------------------------------
    def fmt(self, kind: str = "text", locked: bool = True, **extra):
        key = (kind, locked, tuple(sorted(extra.items())))
        if key not in self._fmt_cache:
            props = {"font_name": "Meiryo UI", "font_size": 10, "valign": "vcenter", "border": 1,
                     "border_color": "#BFBFBF", "locked": locked}
            props["num_format"] = {"yen": "#,##0", "ratio": "0.0#####", "rate": "0.0####", "int": "0",
                                   "text": "@" if not locked else "General", "bool": "@"}.get(kind, "General")
            if not locked:
                props["bg_color"] = "#FFF9DB"
            elif kind != "title":
                props["bg_color"] = "#F2F2F2"
            props.update(extra)
            self._fmt_cache[key] = self.wb.add_format(props)
        return self._fmt_cache[key]

    def define(self, name: str, sheet: str, first: tuple[int, int], last: tuple[int, int] | None = None):
        ref = f"'{sheet}'!" + xl_rowcol_to_cell(*first, row_abs=True, col_abs=True)
        if last and last != first:
            ref += ":" + xl_rowcol_to_cell(*last, row_abs=True, col_abs=True)
        self.wb.define_name(name, "=" + ref)
        self.names[name] = ref

    # ---- texts from the rulebook ------------------------------------------------------------
    def _messages(self) -> dict[str, str]:
        from . import engine
        ctx = engine.context(self.rb)
        out = {}
        for event in engine.EVENTS:
            out[f"{event[0]}:{event[1]}"] = ctx.reason_text(int(engine.BIT[event]), 0)[0]
        return out

    def vocab(self, entries, ident: str) -> str:
        return next(e.label for e in entries if e.id == ident)

    # ---- build ------------------------------------------------------------------------------
    def build(self) -> Path:
        self.ws = {name: self.wb.add_worksheet(name) for name in L.SHEETS}
        self.wb.worksheets()[0].activate()
        self.rules_sheet()
        self.cover()
        self.body_sheet()
        self.lines_sheet()
        self.coord_sheet()
        self.summary_sheet()
        self.annex_sheet()
        self.wb.close()
        return self.path

    def _page(self, ws, header_row: int | None = None, landscape=True):
        ws.set_paper(9)
        if landscape:
            ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
        ws.set_footer("&C&P / &N")
        if header_row is not None:
            ws.repeat_rows(header_row - 1)
        ws.hide_gridlines(0)

    def _protect(self, ws):
        ws.protect("", {"format_columns": True, "format_rows": True, "autofilter": True, "sort": False})

    # ---- ルール -------------------------------------------------------------------------------
    def rules_sheet(self):
        ws, rb, m = self.ws[L.SHEET_RULES], self.rb, self.m
        title = self.fmt("title", bold=True, font_size=14, border=0)
        head = self.fmt("text", bold=True, bg_color="#D9E1F2")
        ws.write(0, 0, "算定ルール（ルールブックから自動生成・編集不可）", title)
        ws.write(1, 0, f"{m.title}／ルールブック {rb.name}／sha256 {rb.sha256}")
        interp = rb.interp
        years = rb.param_years()
        rate_dec = max(_decimals(rb.param("general_rate", y)) for y in years) + COEF_DECIMALS
        crate_dec = max(_decimals(rb.param("coordinator_rate", y)) for y in years)
        scalars = [
            ("TK_VALID_FROM", m.valid_from, "適用開始年度", "SCOPE-FY"),
            ("TK_UNIT", interp.rounding.unit, "措置額の端数処理の単位（円・切り捨て）", "INTERP-ROUNDING"),
            ("TK_DEDUCT", 1 if interp.specific_revenue.deduct else 0, "特定財源を控除する（1=する）", "INTERP-SPECIFIC-REVENUE"),
            ("TK_REQUIRE_RATIO", 1 if interp.apportion.require_ratio_for_mixed else 0,
             "観光・産業振興が主目的の事業は按分率を必須とする（1=必須）", "APPORTION-MIXED"),
            ("TK_RATIO_SCALE", 10 ** interp.apportion.max_decimals, "按分率の桁（10^小数桁数）", "APPORTION-MIXED"),
            ("TK_COEF_DEFAULT", float(Decimal(interp.fiscal_correction.default_coefficient)), "財政力補正係数の既定値",
             "INTERP-FISCAL-CORRECTION"),
            ("TK_COEF_MIN", float(Decimal(interp.fiscal_correction.min_coefficient)), "財政力補正係数の下限", "INTERP-FISCAL-CORRECTION"),
            ("TK_COEF_MAX", float(Decimal(interp.fiscal_correction.max_coefficient)), "財政力補正係数の上限", "INTERP-FISCAL-CORRECTION"),
            ("TK_RATE_SCALE", 10 ** rate_dec, "措置率×補正係数の桁（10^小数桁数）", "RATE-GENERAL"),
            ("TK_CRATE_SCALE", 10 ** crate_dec, "④の率の桁（10^小数桁数）", "INTERP-COORD-RATE"),
            ("TK_PRORATE", 1 if interp.proration.mode == "monthly" else 0, "④上限額を従事月数で月割りする（1=する）",
             "INTERP-PRORATION"),
        ]
        ws.write_row(3, 0, ["名前", "値", "内容", "ルールID"], head)
        for i, (name, value, desc, rid) in enumerate(scalars):
            r = 4 + i
            ws.write(r, 0, name, self.fmt())
            ws.write_number(r, 1, value, self.fmt("int" if isinstance(value, int) else "rate"))
            ws.write(r, 2, desc, self.fmt())
            ws.write(r, 3, rid, self.fmt())
            self.define(name, L.SHEET_RULES, (r, 1))
        # period table (OpenFisca-style dated parameters)
        r0 = 4 + len(scalars) + 2
        cols = [("TK_P_YEARS", "適用開始年度", None), ("TK_P_GENERAL", "①②③⑤措置率", "general_rate"),
                ("TK_P_CAP_DED", "④専任上限額", "coord_cap_dedicated"), ("TK_P_CAP_CON", "④兼務上限額", "coord_cap_concurrent"),
                ("TK_P_CRATE", "④の率", "coordinator_rate")]
        ws.write(r0 - 1, 0, "期間ごとのパラメータ", self.fmt("text", bold=True, border=0))
        ws.write_row(r0, 0, [c[1] for c in cols], head)
        for i, y in enumerate(years):
            for j, (_, _, pname) in enumerate(cols):
                v = y if pname is None else rb.param(pname, y)
                ws.write_number(r0 + 1 + i, j, float(v) if isinstance(v, Decimal) else v,
                                self.fmt("rate" if isinstance(v, Decimal) else ("int" if pname is None else "yen")))
        for j, (name, _, _) in enumerate(cols):
            self.define(name, L.SHEET_RULES, (r0 + 1, j), (r0 + len(years), j))
        # lists for dropdowns and lookups, one column each from column G on
        cats = m.categories
        items = rb.items
        placements = L.placement_items(rb)
        lists = [
            ("TK_CAT_ALL", "区分（全体）", [L.category_choice(c) for c in cats]),
            ("TK_CAT_IDS", "区分番号", [c.id for c in cats]),
            ("TK_CAT_LINES", "区分（事業シート）", [L.category_choice(rb.category(i)) for i in L.LINES_CATEGORIES]),
            ("TK_ITEM_ALL", "経費項目（全体）", [L.item_choice(it) for _, it in items]),
            ("TK_ITEM_CAT", "経費項目の区分", [c.id for c, _ in items]),
            ("TK_ITEMS_LINES", "経費項目（事業シート）",
             [L.item_choice(it) for c, it in items if c.id in L.LINES_CATEGORIES]),
        ]
        for cid in L.LINES_CATEGORIES:
            lists.append((f"TK_ITEMS_{cid}", f"経費項目（区分{cid}）", [L.item_choice(it) for it in rb.category(cid).items]))
        lists += [
            ("TK_PLACEMENTS", "配置の種類（④）", [L.item_choice(it) for it in placements]),
            ("TK_PLACE_STUDY", "地域留学の配置", [1 if it.study else 0 for it in placements]),
            ("TK_BODY_TYPES", "団体区分", [b.label for b in m.body_types]),
            ("TK_BODY_ELIG", "対象団体", [1 if b.eligible else 0 for b in m.body_types]),
            ("TK_PURPOSES", "主目的", [p.label for p in m.main_purposes]),
            ("TK_EMP", "従事形態", [e.label for e in m.employments]),
            ("TK_OTHER", "他制度適用", [o.label for o in m.other_measures]),
            ("TK_YESNO", "はい／いいえ", [YES, NO]),
        ]
        c0 = 6
        for j, (name, header, values) in enumerate(lists):
            ws.write(3, c0 + j, header, head)
            for i, v in enumerate(values):
                if isinstance(v, str):
                    ws.write_string(4 + i, c0 + j, v, self.fmt())
                else:
                    ws.write_number(4 + i, c0 + j, v, self.fmt("int"))
            self.define(name, L.SHEET_RULES, (4, c0 + j), (3 + len(values), c0 + j))
            ws.set_column(c0 + j, c0 + j, 30 if isinstance(values[0], str) and len(str(values[0])) > 8 else 12)
        ws.set_column(0, 0, 18)
        ws.set_column(1, 1, 10)
        ws.set_column(2, 2, 44)
        ws.set_column(3, 3, 24)
        self._page(ws)
        self._protect(ws)

    # ---- 表紙 ---------------------------------------------------------------------------------
    def cover(self):
        ws, rb, m = self.ws[L.SHEET_COVER], self.rb, self.m
        ws.set_column(0, 0, 2)
        ws.set_column(1, 1, 30)
        ws.set_column(2, 2, 90)
        ws.write(1, 1, f"{m.title} 経費算定様式", self.fmt("title", bold=True, font_size=16, border=0))
        years = f"{m.valid_from}年度（令和{m.valid_from - 2018}年度）から"
        values = {
            "rulebook_title": m.title, "rulebook_name": rb.name,
            "notice_numbers": "・".join(m.notice.numbers), "notice_date": m.notice.date_ja,
            "notice_title": m.notice.title, "valid_years": years, "rulebook_hash": rb.sha256,
            "layout_version": L.LAYOUT_VERSION,
            "variant": "Excel標準の数式（アドイン不要）" if self.variant == "native" else "tokkouアドインの関数（UDF）",
            "tokkou_version": f"tokkou {__version__}",
        }
        for i, (key, label) in enumerate(L.COVER_FIELDS):
            r = L.COVER_FIRST_ROW + i - 1
            ws.write(r, 1, label, self.fmt("text", bold=True))
            v = values[key]
            (ws.write_number if isinstance(v, int) else ws.write_string)(r, 2, v, self.fmt("text", text_wrap=True))
        r = L.COVER_FIRST_ROW + len(L.COVER_FIELDS) + 1
        ws.write(r, 1, "記入のしかた", self.fmt("title", bold=True, font_size=12, border=0))
        steps = [
            f"1. 「{L.SHEET_BODY}」シートに団体名・団体コード（6桁、検査数字付き）・団体区分・年度・財政力補正係数を入力します。",
            f"2. 「{L.SHEET_LINES}」シートに①②③⑤の事業を1行に1件入力します。区分を選ぶと、経費項目の選択肢がその区分の例示（別添）に絞られます。",
            "3. 事業費・特定財源（国庫・県補助金、寄附金、使用料等）・起債対象経費（デジタル活用推進事業債・地域活性化事業債の対象経費）・対象外経費は円単位で入力します。",
            "4. 観光・産業振興等と複合的な事業は、二地域居住・関係人口分の按分率（0〜1、小数6桁まで）を必ず入力します。",
            f"5. 「{L.SHEET_COORD}」シートに④のコーディネーターを1人1行で入力します（専任は1人{rb.param('coord_cap_dedicated', m.valid_from):,}円、"
            f"兼務は1人{rb.param('coord_cap_concurrent', m.valid_from):,}円が上限）。飲食費は「地域住民との交流」の内数として入力します。",
            "6. 灰色のセル（対象経費・措置率・措置額・判定・理由）は自動計算です。黄色のセルだけ入力できます。",
            f"7. 結果は「{L.SHEET_SUMMARY}」シートで区分別に確認できます。経費の例示は「{L.SHEET_ANNEX}」シート、計算に使う率・上限額は「{L.SHEET_RULES}」シートにあります。",
            "8. 提出前に行やシートを削除・並べ替えしないでください（都道府県での一括確認に使います）。",
        ]
        for i, s in enumerate(steps):
            ws.write(r + 1 + i, 1, s, self.fmt("title", border=0))
        self._page(ws, landscape=False)
        self._protect(ws)

    # ---- 団体情報 ------------------------------------------------------------------------------
    def body_sheet(self):
        ws, m = self.ws[L.SHEET_BODY], self.m
        ws.set_column(0, 0, 2)
        ws.set_column(1, 1, 34)
        ws.set_column(2, 2, 22)
        ws.set_column(3, 3, 60)
        ws.write(1, 1, "団体情報", self.fmt("title", bold=True, font_size=14, border=0))
        notes = {
            "body_name": "例: 茅野市",
            "body_code": "全国地方公共団体コード6桁（検査数字付き）。例: 202142",
            "body_type": "都道府県・市町村（特別区・一部事務組合・広域連合は対象外）。空欄なら団体コードから判定",
            "fiscal_year": f"西暦で入力（例: 2025）。{m.valid_from}年度から適用",
            "fiscal_correction": "措置率0.5に乗じる係数（0〜2、小数4桁まで）。空欄は1（補正前）",
        }
        names = {"body_name": "TK_B_NAME", "body_code": "TK_B_CODE", "body_type": "TK_B_TYPE",
                 "fiscal_year": "TK_FY", "fiscal_correction": "TK_COEF_IN"}
        for i, (key, label) in enumerate(L.BODY_FIELDS):
            r = L.BODY_FIRST_ROW + i - 1
            ws.write(r, 1, label, self.fmt("text", bold=True))
            kind = {"fiscal_correction": "rate", "fiscal_year": "int"}.get(key, "text")
            v = self.fill.body.get(key)
            f = self.fmt(kind, locked=False)
            if v is None:
                ws.write_blank(r, 2, None, f)
            elif isinstance(v, str):
                ws.write_string(r, 2, v, f)
            else:
                ws.write_number(r, 2, v, f)
            ws.write(r, 3, notes[key], self.fmt("title", border=0, font_color="#595959"))
            self.define(names[key], L.SHEET_BODY, (r, 2))
        cell = {k: L.BODY_CELLS[k] for k, _ in L.BODY_FIELDS}
        code = cell["body_code"]
        digits = "AND(" + ",".join(f'ISNUMBER(FIND(MID({code},{i},1),"0123456789"))' for i in range(1, 7)) + ")"
        check = (f"MOD(11-MOD(6*MID({code},1,1)+5*MID({code},2,1)+4*MID({code},3,1)+3*MID({code},4,1)"
                 f"+2*MID({code},5,1),11),10)=VALUE(MID({code},6,1))")
        dv = lambda rng, opts: ws.data_validation(rng, {**opts, "error_title": "入力できない値です"})  # noqa: E731
        dv(code, {"validate": "custom", "value": f"=IF(LEN({code})<>6,FALSE,IF({digits},{check},FALSE))",
                  "input_title": "団体コード", "input_message": "6桁の数字（検査数字付き）",
                  "error_message": "団体コードは6桁の数字で、最後の1桁は検査数字です。"})
        dv(cell["body_type"], {"validate": "list", "source": "=TK_BODY_TYPES",
                               "error_message": "一覧から選んでください。"})
        dv(cell["fiscal_year"], {"validate": "integer", "criteria": "between", "minimum": 1989, "maximum": 2100,
                                 "input_message": "西暦（例: 2025）", "error_message": "年度は西暦4桁で入力してください。"})
        dv(cell["fiscal_correction"], {"validate": "custom",
                                       "value": f"=AND(ISNUMBER({cell['fiscal_correction']}),{cell['fiscal_correction']}>=TK_COEF_MIN,"
                                                f"{cell['fiscal_correction']}<=TK_COEF_MAX,ABS({cell['fiscal_correction']}*10000-"
                                                f"ROUND({cell['fiscal_correction']}*10000,0))<0.000001)",
                                       "error_message": "0〜2、小数4桁までの数値を入力してください。"})
        dv(cell["body_name"], {"validate": "length", "criteria": "<=", "value": 100,
                               "error_message": "100文字以内で入力してください。"})
        # calculated cells
        ws.write(L.BODY_CALC_FIRST_ROW - 2, 1, "自動判定（編集不可）", self.fmt("title", bold=True, border=0))
        bt = lambda ident: q(self.vocab(m.body_types, ident))  # noqa: E731
        ids = dict(L.BODY_CALC_FIELDS)
        n = "TK_CODE"
        yen_err = lambda x: f"IF(ISNUMBER({x}),OR({x}<TK_COEF_MIN,{x}>TK_COEF_MAX,ABS({x}*10000-ROUND({x}*10000,0))>0.000001),TRUE)"  # noqa: E731
        formulas = {
            "code_norm": f'IF(TK_B_CODE="","",IF(ISNUMBER(TK_B_CODE),TEXT(TK_B_CODE,"000000"),TRIM(TK_B_CODE)))',
            "code_ok": (f'IF({n}="",1,IF(LEN({n})<>6,0,IF(' + digits.replace(code, n) + ",IF("
                        + check.replace(code, n) + ",1,0),0)))"),
            "code_type": (f'IF(OR({n}="",TK_CODE_OK=0),"",IF(MID({n},3,3)="000",{bt("prefecture")},'
                          f'IF(AND(VALUE({n})>=131016,VALUE({n})<=131237),{bt("special_ward")},{bt("municipality")})))'),
            "type_eff": 'IF(TK_B_TYPE<>"",TK_B_TYPE,TK_CODE_TYPE)',
            "body_error": (
                'IF(TK_FY="",' + q("年度（団体情報シート）が未入力です。") + ","
                "IF(IF(ISNUMBER(TK_FY),OR(TK_FY<>INT(TK_FY),TK_FY<1989,TK_FY>2100),TRUE),"
                + q("年度は西暦4桁（例: 2025）で入力してください。") + ","
                "IF(TK_CODE_OK=0," + q("団体コードが正しくありません（6桁・検査数字）。") + ","
                'IF(AND(TK_B_TYPE<>"",ISNA(MATCH(TK_B_TYPE,TK_BODY_TYPES,0))),'
                + q("団体区分は一覧から選んでください。") + ","
                'IF(TK_TYPE="",' + q("団体区分または団体コードを入力してください。") + ","
                'IF(AND(TK_B_TYPE<>"",TK_CODE_TYPE<>"",TK_B_TYPE<>TK_CODE_TYPE),'
                + q("団体区分と団体コードが食い違っています。") + ","
                'IF(IF(TK_COEF_IN="",FALSE,' + yen_err("TK_COEF_IN") + "),"
                + q("財政力補正係数は0〜2、小数4桁までで入力してください。") + ',"")))))))'),
            "body_excluded": (
                'IF(TK_BODY_ERR<>"","",IF(TK_FY<TK_VALID_FROM,' + q(self.messages["SCOPE-FY:excluded"]) + ","
                "IF(INDEX(TK_BODY_ELIG,MATCH(TK_TYPE,TK_BODY_TYPES,0))=0,"
                + q(self.messages["SCOPE-BODY:excluded"]) + ',"")))'),
            "coef_eff": 'IF(TK_COEF_IN="",TK_COEF_DEFAULT,TK_COEF_IN)',
            "period": "IF(ISNUMBER(TK_FY),IFERROR(MATCH(TK_FY,TK_P_YEARS,1),1),1)",
            "general_rate": 'IF(TK_BODY_ERR<>"","",INDEX(TK_P_GENERAL,TK_PERIOD)*TK_COEF)',
            "general_rate_n": 'IF(TK_BODY_ERR<>"",0,ROUND(TK_RATE*TK_RATE_SCALE,0))',
            "cap_dedicated": "INDEX(TK_P_CAP_DED,TK_PERIOD)",
            "cap_concurrent": "INDEX(TK_P_CAP_CON,TK_PERIOD)",
            "coord_rate_n": "ROUND(INDEX(TK_P_CRATE,TK_PERIOD)*TK_CRATE_SCALE,0)",
        }
        calc_names = {"code_norm": "TK_CODE", "code_ok": "TK_CODE_OK", "code_type": "TK_CODE_TYPE",
                      "type_eff": "TK_TYPE", "body_error": "TK_BODY_ERR", "body_excluded": "TK_BODY_EXCL",
                      "coef_eff": "TK_COEF", "period": "TK_PERIOD", "general_rate": "TK_RATE",
                      "general_rate_n": "TK_RATE_N", "cap_dedicated": "TK_CAP_DED", "cap_concurrent": "TK_CAP_CON",
                      "coord_rate_n": "TK_CRATE_N"}
        cached = self._body_cached()
        for i, (key, label) in enumerate(L.BODY_CALC_FIELDS):
            r = L.BODY_CALC_FIRST_ROW + i - 1
            ws.write(r, 1, label, self.fmt("text"))
            kind = {"general_rate": "rate", "cap_dedicated": "yen", "cap_concurrent": "yen"}.get(key, "General")
            ws.write_formula(r, 2, "=" + formulas[key], self.fmt(kind), cached.get(key, ""))
            self.define(calc_names[key], L.SHEET_BODY, (r, 2))
        assert set(formulas) == set(ids)
        ws.freeze_panes(L.BODY_FIRST_ROW - 1, 0)
        self._page(ws)
        self._protect(ws)

    def _body_cached(self) -> dict:
        """Cached values of the body calculations: only meaningful for a filled, valid sample."""
        b, rb = self.fill.body, self.rb
        if not b.get("fiscal_year"):
            return {}
        fy = int(b["fiscal_year"])
        coef = Decimal(str(b.get("fiscal_correction") or rb.interp.fiscal_correction.default_coefficient))
        rate = rb.param("general_rate", fy) * coef
        years = rb.param_years()
        scale = 10 ** (max(_decimals(rb.param("general_rate", y)) for y in years) + COEF_DECIMALS)
        return {"general_rate_n": int(rate * scale), "coord_rate_n": int(rb.param("coordinator_rate", fy) * 10 ** max(
                    _decimals(rb.param("coordinator_rate", y)) for y in years)),
                "code_norm": str(b.get("body_code") or ""), "code_ok": 1, "type_eff": b.get("body_type") or "",
                "code_type": b.get("body_type") or "", "body_error": "", "body_excluded": "",
                "coef_eff": float(coef), "period": 1, "general_rate": float(rate),
                "cap_dedicated": rb.param("coord_cap_dedicated", fy),
                "cap_concurrent": rb.param("coord_cap_concurrent", fy)}

    # ---- line sheets: shared pieces --------------------------------------------------------
    def _header(self, ws, title: str, note: str, cols, header_row: int):
        ws.write(0, 0, title, self.fmt("title", bold=True, font_size=14, border=0))
        ws.write(1, 0, note, self.fmt("title", border=0, font_color="#595959"))
        hf = {k: self.fmt("text", bold=True, text_wrap=True, align="center", bg_color=bg)
              for k, bg in (("input", "#FFE699"), ("fixed", "#D9D9D9"), ("calc", "#BDD7EE"), ("helper", "#EDEDED"))}
        ws.set_row(header_row - 1, 42)
        for c in cols:
            i = L._index(c.letter)
            ws.write(header_row - 1, i, c.header, hf[c.kind])
            opts = {"hidden": True, "level": 1} if c.kind == "helper" else {}
            ws.set_column(i, i, c.width, None, opts)

    def _write_input(self, ws, r: int, c: L.Col, value):
        f = self.fmt(c.fmt, locked=False)
        col = L._index(c.letter)
        if value is None or value == "":
            ws.write_blank(r, col, None, f)
        elif isinstance(value, str):
            ws.write_string(r, col, value, f)
        elif isinstance(value, bool):
            ws.write_boolean(r, col, value, f)
        else:
            ws.write_number(r, col, value, f)

    def _yen_dv(self, ws, rng):
        ws.data_validation(rng, {"validate": "integer", "criteria": "between", "minimum": 0, "maximum": MAX_YEN,
                                 "input_message": "円単位の整数（0以上）", "error_title": "入力できない値です",
                                 "error_message": "金額は0以上の整数（円単位）で入力してください。"})

    def _list_dv(self, ws, rng, source: str, msg: str = "一覧から選んでください。"):
        ws.data_validation(rng, {"validate": "list", "source": source, "error_title": "入力できない値です",
                                 "error_message": msg})

    def _cached(self, sheet: str, r: int, key: str):
        default = 0 if key in ("_cat", "_state", "_lines", "_cost_total") else ""
        if self.fill.cached is None:
            return default
        return self.fill.cached.get((sheet, r, key), default)

    # ---- 事業 ---------------------------------------------------------------------------------
    def _write_rows(self, ws, sheet: str, cols, first: int, n: int, fills: list, formula, write_fixed):
        """The n rows of a line sheet: fixed numbering, input cells (filled or blank), formulas with caches."""
        C = {c.key: c.letter for c in cols}
        for i in range(n):
            r = first + i
            row_fill = fills[i] if i < len(fills) else {}
            for c in cols:
                col = L._index(c.letter)
                if c.kind == "fixed":
                    write_fixed(r - 1, col, i)
                elif c.kind == "input":
                    self._write_input(ws, r - 1, c, row_fill.get(c.key))
                else:
                    ws.write_formula(r - 1, col, formula(c.key, r, C),
                                     self.fmt(c.fmt if c.fmt != "text" else "General", text_wrap=c.key == "reasons"),
                                     self._cached(sheet, r, c.key))

    def lines_sheet(self):
        ws = self.ws[L.SHEET_LINES]
        cols = L.LINE_COLUMNS
        self._header(ws, "事業（①情報発信 ②相談窓口 ③きっかけづくり ⑤受入環境整備）",
                     "黄色のセルに1行1事業で入力します。灰色のセルは自動計算です（④コーディネーターは別シート）。",
                     cols, L.LINES_HEADER_ROW)
        first, n = L.LINES_FIRST_ROW, L.LINES_COUNT
        last = first + n - 1
        C = {c.key: c.letter for c in cols}
        self._write_rows(ws, L.SHEET_LINES, cols, first, n, self.fill.lines, self.line_formula,
                         lambda r, col, i: ws.write_number(r, col, i + 1, self.fmt("int")))
        rng = lambda key: f"{C[key]}{first}:{C[key]}{last}"  # noqa: E731
        self._list_dv(ws, rng("category"), "=TK_CAT_LINES")
        self._list_dv(ws, rng("item"),
                      f'=INDIRECT(IF(${C["category"]}{first}="","TK_ITEMS_LINES","TK_ITEMS_"&'
                      f'IFERROR(INDEX(TK_CAT_IDS,MATCH(${C["category"]}{first},TK_CAT_ALL,0)),"LINES")))',
                      "区分に対応する経費項目（別添の例示）から選んでください。")
        ws.data_validation(rng("project_name"), {"validate": "length", "criteria": "<=", "value": 200,
                                                 "error_message": "200文字以内で入力してください。"})
        for key in ("cost", "specific_revenue", "bond_amount", "excluded_amount"):
            self._yen_dv(ws, rng(key))
        a = f"{C['apportion_ratio']}{first}"
        ws.data_validation(rng("apportion_ratio"), {
            "validate": "custom",
            "value": f"=AND(ISNUMBER({a}),{a}>=0,{a}<=1,ABS({a}*TK_RATIO_SCALE-ROUND({a}*TK_RATIO_SCALE,0))<0.000001)",
            "input_message": "0〜1（小数6桁まで）。空欄は1", "error_title": "入力できない値です",
            "error_message": "按分率は0〜1、小数6桁までで入力してください。"})
        self._list_dv(ws, rng("main_purpose"), "=TK_PURPOSES")
        for key in ("national_subsidy", "cash_benefit", "new_construction", "pref_grant"):
            self._list_dv(ws, rng(key), "=TK_YESNO", "「はい」か「いいえ」を選んでください。")
        ws.freeze_panes(L.LINES_HEADER_ROW, 3)
        ws.autofilter(L.LINES_HEADER_ROW - 1, 0, last - 1, L._index(C["reasons"]))
        self._page(ws, L.LINES_HEADER_ROW)
        if self.fill.lines:  # a filled workbook prints its lines, not 300 empty rows
            ws.print_area(0, 0, L.LINES_HEADER_ROW - 1 + len(self.fill.lines), L._index(C["reasons"]))
        self._protect(ws)

    def line_formula(self, key: str, r: int, C: dict) -> str:
        return (self.native_line if self.variant == "native" else self.addin_line)(key, r, C)

    def native_line(self, key: str, r: int, C: dict) -> str:
        m = self.m
        x = {k: f"{v}{r}" for k, v in C.items()}
        msg = self.messages
        purpose = lambda ident: q(self.vocab(m.main_purposes, ident))  # noqa: E731
        if key == "_cat":
            return (f'=IF({x["category"]}="",IF({x["item"]}="",0,IFERROR(INDEX(TK_ITEM_CAT,MATCH({x["item"]},TK_ITEM_ALL,0)),0)),'
                    f'IFERROR(INDEX(TK_CAT_IDS,MATCH({x["category"]},TK_CAT_ALL,0)),0))')
        if key == "_err":
            checks = [
                ('TK_BODY_ERR<>""', "TK_BODY_ERR"),
                (f'AND({x["category"]}<>"",ISNA(MATCH({x["category"]},TK_CAT_ALL,0)))', q("区分は一覧から選んでください。")),
                (f'AND({x["item"]}<>"",ISNA(MATCH({x["item"]},TK_ITEM_ALL,0)))', q("経費項目は一覧（別添の例示）から選んでください。")),
                (f'{x["_cat"]}=0', q("区分が未入力です。")),
                (f'IF(AND({x["category"]}<>"",{x["item"]}<>""),INDEX(TK_ITEM_CAT,MATCH({x["item"]},TK_ITEM_ALL,0))<>{x["_cat"]},FALSE)',
                 q("経費項目が区分と合いません。")),
                (f'{x["_cat"]}=4', q("④コーディネーターは「コーディネーター」シートに入力してください。")),
                (f'{x["cost"]}=""', q("事業費が未入力です。")),
            ]
            for k, label in (("cost", "事業費"), ("specific_revenue", "特定財源"), ("bond_amount", "起債対象経費"),
                             ("excluded_amount", "対象外経費")):
                checks.append((self._bad_yen(x[k]), q(f"{label}は0以上の整数（円）で入力してください。")))
            a = x["apportion_ratio"]
            checks.append((f'IF({a}="",FALSE,IF(ISNUMBER({a}),OR({a}<0,{a}>1,ABS({a}*TK_RATIO_SCALE-ROUND({a}*TK_RATIO_SCALE,0))>0.000001),TRUE))',
                           q("按分率は0〜1、小数6桁までで入力してください。")))
            p = x["main_purpose"]
            checks.append((f'AND({p}<>"",ISNA(MATCH({p},TK_PURPOSES,0)))', q("主目的は一覧から選んでください。")))
            for k, label in (("national_subsidy", "国庫補助事業"), ("cash_benefit", "現金給付"), ("new_construction", "新築"),
                             ("pref_grant", "市町村への補助金")):
                checks.append((f'AND({x[k]}<>"",{x[k]}<>{q(YES)},{x[k]}<>{q(NO)})', q(f"{label}は「はい」か「いいえ」で入力してください。")))
            checks.append((f'AND(TK_REQUIRE_RATIO=1,{p}={purpose("tourism_industry")},{a}="")',
                           q(self.rb.rule("APPORTION-MIXED").messages["missing"])))
            checks.append((f'AND({x["pref_grant"]}={q(YES)},TK_TYPE<>{q(self.vocab(m.body_types, "prefecture"))})',
                           q(self.rb.rule("INCL-PREF-GRANT").messages["not_prefecture"])))
            return f'=IF(COUNTA({C["category"]}{r}:{C["pref_grant"]}{r})=0,"",' + _chain(checks) + ")"
        if key == "_excl":
            p = x["main_purpose"]
            checks = [('TK_BODY_EXCL<>""', "TK_BODY_EXCL")]
            for rid, cond in engine.line_exclusions(self.rb):  # the engine's own exclusion table
                parts = [f'{x[cond.flag]}={q(YES)}'] if cond.flag else []
                if cond.main_purpose:
                    parts.append(f'{p}={purpose(cond.main_purpose)}')
                if cond.categories:
                    cats = [f'{x["_cat"]}={c}' for c in cond.categories]
                    parts.append(cats[0] if len(cats) == 1 else f'OR({",".join(cats)})')
                expr = parts[0] if len(parts) == 1 else f'AND({",".join(parts)})'
                checks.append((expr, q(msg[f"{rid}:excluded"])))
            return "=" + _chain(checks)
        if key == "_state":
            return (f'=IF(COUNTA({C["category"]}{r}:{C["pref_grant"]}{r})=0,0,IF({x["_err"]}<>"",1,'
                    f'IF({x["_excl"]}<>"",2,3)))')
        s = x["_state"]
        if key == "eligible_cost":
            base = (f'MAX(0,{x["cost"]}-IF(TK_DEDUCT=1,{x["specific_revenue"]},0)-{x["bond_amount"]}'
                    f'-{x["excluded_amount"]})')
            n = f'IF({x["apportion_ratio"]}="",TK_RATIO_SCALE,ROUND({x["apportion_ratio"]}*TK_RATIO_SCALE,0))'
            return f'=IF({s}<3,IF({s}=2,0,""),{floordiv(base, n, "TK_RATIO_SCALE")})'
        if key == "rate":
            return f'=IF({s}<=1,"",TK_RATE)'
        if key == "measure_amount":
            amount = floordiv(x["eligible_cost"], "TK_RATE_N", "TK_RATE_SCALE")
            return f'=IF({s}<=1,"",IF({s}=2,0,INT({amount}/TK_UNIT)*TK_UNIT))'
        if key == "status":
            return (f'=IF({s}=0,"",IF({s}=1,"エラー",IF(OR({s}=2,AND({x["cost"]}>0,{x["measure_amount"]}=0,'
                    f'{x["eligible_cost"]}=0)),"対象外",IF({x["eligible_cost"]}<{x["cost"]},"一部対象","対象"))))')
        if key == "reasons":
            return f'=IF({s}=1,{x["_err"]},IF({s}=2,{x["_excl"]},""))'
        raise KeyError(key)

    @staticmethod
    def _bad_yen(c: str) -> str:
        return f'IF({c}="",FALSE,IF(ISNUMBER({c}),OR({c}<0,{c}<>INT({c}),{c}>{MAX_YEN}),TRUE))'

    # ---- コーディネーター -----------------------------------------------------------------------
    def coord_sheet(self):
        ws, lay, rb = self.ws[L.SHEET_COORD], self.lay, self.rb
        cols = lay.coord_columns
        fy = rb.model.valid_from
        self._header(ws, "④コーディネーター（1人1行）",
                     f"専任は1人{rb.param('coord_cap_dedicated', fy):,}円、兼務は1人{rb.param('coord_cap_concurrent', fy):,}円が上限です。"
                     "飲食費は「地域住民との交流」の内数として入力します。", cols, L.COORD_HEADER_ROW)
        first, n = L.COORD_FIRST_ROW, L.COORD_COUNT
        last = first + n - 1
        C = {c.key: c.letter for c in cols}
        self._write_rows(ws, L.SHEET_COORD, cols, first, n, self.fill.coordinators,
                         self.native_coord if self.variant == "native" else self.addin_coord,
                         lambda r, col, i: ws.write_string(r, col, L.coordinator_id(i), self.fmt("text")))
        rng = lambda key: f"{C[key]}{first}:{C[key]}{last}"  # noqa: E731
        ws.data_validation(rng("person_name"), {"validate": "length", "criteria": "<=", "value": 100,
                                                "error_message": "100文字以内で入力してください。"})
        self._list_dv(ws, rng("employment"), "=TK_EMP")
        self._list_dv(ws, rng("other_measure"), "=TK_OTHER")
        self._list_dv(ws, rng("study_coordinator"), "=TK_YESNO", "「はい」か「いいえ」を選んでください。")
        self._list_dv(ws, rng("in_strategy_plan"), "=TK_YESNO", "「はい」か「いいえ」を選んでください。")
        ws.data_validation(rng("months_served"), {"validate": "integer", "criteria": "between", "minimum": 1,
                                                  "maximum": 12, "error_message": "従事月数は1〜12の整数です。"})
        self._list_dv(ws, rng("placement"), "=TK_PLACEMENTS")
        for c in cols:
            if c.kind == "input" and c.fmt == "yen":
                self._yen_dv(ws, rng(c.key))
        ws.freeze_panes(L.COORD_HEADER_ROW, 2)
        self._page(ws, L.COORD_HEADER_ROW)
        if self.fill.coordinators:
            ws.print_area(0, 0, L.COORD_HEADER_ROW - 1 + len(self.fill.coordinators), L._index(C["reasons"]))
        self._protect(ws)

    def _amount_cols(self) -> list[L.Col]:
        lay = self.lay
        return [lay.coord["reward"]] + [c for c in lay.coord_columns if c.item]

    def native_coord(self, key: str, r: int, C: dict) -> str:
        m, lay, msg = self.m, self.lay, self.messages
        x = {k: f"{v}{r}" for k, v in C.items()}
        amounts = self._amount_cols()
        present = lambda c: f'IF({c}="",0,IF({c}=0,0,1))'  # noqa: E731
        s = x["_state"]
        if key == "_lines":
            return "=" + "+".join(present(f"{c.letter}{r}") for c in amounts)
        if key == "_cost_total":
            return "=SUM(" + ",".join(f"{c.letter}{r}" for c in amounts) + ")"
        if key == "_err":
            food_col = next(c for c in amounts if c.item == lay.food_item_id)
            checks = [
                ('TK_BODY_ERR<>""', "TK_BODY_ERR"),
                (f'{x["employment"]}=""', q(self.rb.rule("INTERP-COORD-PERSON").messages["missing_employment"])),
                (f'ISNA(MATCH({x["employment"]},TK_EMP,0))', q("従事形態は一覧から選んでください。")),
                (f'AND({x["other_measure"]}<>"",ISNA(MATCH({x["other_measure"]},TK_OTHER,0)))', q("他制度適用は一覧から選んでください。")),
            ]
            for k, label in (("study_coordinator", "地域留学コーディネーター"), ("in_strategy_plan", "総合戦略位置付け")):
                checks.append((f'AND({x[k]}<>"",{x[k]}<>{q(YES)},{x[k]}<>{q(NO)})', q(f"{label}は「はい」か「いいえ」で入力してください。")))
            mo = x["months_served"]
            checks.append((f'IF({mo}="",FALSE,IF(ISNUMBER({mo}),OR({mo}<>INT({mo}),{mo}<1,{mo}>12),TRUE))',
                           q("従事月数は1〜12の整数で入力してください。")))
            checks.append((f'AND({present(x["reward"])}=1,{x["placement"]}<>"",ISNA(MATCH({x["placement"]},TK_PLACEMENTS,0)))',
                           q("配置の種類は一覧から選んでください。")))
            for c in amounts:
                checks.append((self._bad_yen(f"{c.letter}{r}"), q(f"{c.header.replace('（円）', '')}は0以上の整数（円）で入力してください。")))
            checks.append((f'IF({present(x["reward"])}=1,{self._bad_yen(x["specific_revenue"])},FALSE)',
                           q("特定財源は0以上の整数（円）で入力してください。")))
            checks.append((f'IF({present(food_col.letter + str(r))}=1,{self._bad_yen(x["food_amount"])},FALSE)',
                           q("飲食費は0以上の整数（円）で入力してください。")))
            return f'=IF({x["_lines"]}=0,"",' + _chain(checks) + ")"
        if key == "_excl":
            none = q(self.vocab(m.other_measures, "none"))
            study = (f'OR({x["study_coordinator"]}={q(YES)},AND({present(x["reward"])}=1,'
                     f'IFERROR(INDEX(TK_PLACE_STUDY,MATCH({x["placement"]},TK_PLACEMENTS,0)),0)=1))')
            checks = [
                ('TK_BODY_EXCL<>""', "TK_BODY_EXCL"),
                (f'AND({x["other_measure"]}<>"",{x["other_measure"]}<>{none})', q(msg["SELECT-COOPERATOR:excluded"])),
                (f'AND({study},{x["in_strategy_plan"]}<>{q(YES)})', q(msg["COND-STUDY-PLAN:excluded"])),
            ]
            return "=" + _chain(checks)
        if key == "_state":
            return f'=IF({x["_lines"]}=0,0,IF({x["_err"]}<>"",1,IF({x["_excl"]}<>"",2,3)))'
        if key == "eligible_cost":
            food_col = next(c for c in amounts if c.item == lay.food_item_id)
            parts = [f'MAX(0,{x["reward"]}-IF(TK_DEDUCT=1,{x["specific_revenue"]},0))']
            for c in amounts[1:]:
                cell = f"{c.letter}{r}"
                parts.append(f'MAX(0,{cell}-{x["food_amount"]})' if c is food_col else f"N({cell})")
            return f'=IF({s}<3,IF({s}=2,0,""),' + "+".join(parts) + ")"
        if key == "cap":
            ded = q(self.vocab(m.employments, "dedicated"))
            base = f'IF({x["employment"]}={ded},TK_CAP_DED,TK_CAP_CON)'
            mo = x["months_served"]
            return f'=IF({s}<=1,"",IF(AND(TK_PRORATE=1,{mo}<>"",{mo}<12),INT({base}*{mo}/12),{base}))'
        rated = floordiv(x["eligible_cost"], "TK_CRATE_N", "TK_CRATE_SCALE")
        if key == "measure_amount":
            return f'=IF({s}<=1,"",IF({s}=2,0,INT(MIN({rated},{x["cap"]})/TK_UNIT)*TK_UNIT))'
        if key == "status":
            t = x["eligible_cost"]
            return (f'=IF({s}=0,"",IF({s}=1,"エラー",IF(OR({s}=2,{t}=0),"対象外",'
                    f'IF(AND({x["measure_amount"]}={t},{t}={x["_cost_total"]}),"対象","一部対象"))))')
        if key == "reasons":
            ded = q(self.vocab(m.employments, "dedicated"))
            capped = (f'IF({rated}>{x["cap"]},IF({x["employment"]}={ded},{q(msg["CAP-COORD-DEDICATED:capped"])},'
                      f'{q(msg["CAP-COORD-CONCURRENT:capped"])}),"")')
            return f'=IF({s}=1,{x["_err"]},IF({s}=2,{x["_excl"]},IF({s}=3,{capped},"")))'
        raise KeyError(key)

    # ---- add-in variant -----------------------------------------------------------------
    # Calculated cells call the tokkou UDFs (tokkou.udfs); argument order comes from its metadata.
    # `addin_calls` is the structured form the tests evaluate through the Office.js call path.
    def addin_line(self, key: str, r: int, C: dict) -> str:
        x = {k: f"{v}{r}" for k, v in C.items()}
        s = x["_state"]
        calls = self.addin_calls(L.SHEET_LINES, r, C)
        if key in ("_cat",):
            return self.native_line(key, r, C)
        if key == "eligible_cost":
            return f'=IF({s}=0,"",IFERROR({render(calls["eligible_cost"])},""))'
        if key == "measure_amount":
            return f'=IF({s}=0,"",IFERROR({render(calls["measure_amount"])},""))'
        if key == "rate":
            return f'=IF({s}<=1,"",IFERROR({render(calls["rate"])},""))'
        if key == "reasons":
            return f'=IF(COUNTA({C["category"]}{r}:{C["pref_grant"]}{r})=0,"",{render(calls["reasons"])})'
        return self._addin_status(key, x)

    def _addin_status(self, key: str, x: dict) -> str:
        rs, st = x["reasons"], x["status"]
        if key == "status":
            return f'=IF({rs}="","",IF(ISNUMBER(FIND(":",{rs})),LEFT({rs},FIND(":",{rs})-1),{rs}))'
        if key == "_err":
            return f'=IF({st}="エラー",{rs},"")'
        if key == "_excl":
            return f'=IF({st}="対象外",{rs},"")'
        if key == "_state":
            return f'=IF({st}="",0,IF({st}="エラー",1,IF({st}="対象外",2,3)))'
        raise KeyError(key)

    def addin_calls(self, sheet: str, r: int, C: dict) -> dict:
        """{result key: (UDF name, [argument spec])} for one row of the add-in variant."""
        line_args, coord_args, rate_args = (columns.udf_args(f) for f in ("line", "coord", "rate"))
        cell = lambda k: ("cell", f"{C[k]}{r}")  # noqa: E731
        name = lambda n: ("name", n)  # noqa: E731
        body = {"fiscal_year": name("TK_FY"), "body_type": name("TK_B_TYPE"), "body_code": name("TK_B_CODE"),
                "fiscal_correction": name("TK_COEF_IN")}
        if sheet == L.SHEET_LINES:
            line = {**body, **{k: cell(k) for k in ("category", "cost", "specific_revenue", "bond_amount",
                                                    "excluded_amount", "apportion_ratio", "main_purpose", "item",
                                                    "national_subsidy", "cash_benefit", "new_construction",
                                                    "pref_grant")}}
            args = _positional(line_args, line)
            return {"eligible_cost": ("ELIGIBLE_AMOUNT", args), "measure_amount": ("MEASURE_AMOUNT", args),
                    "reasons": ("CHECK_LINE", args),
                    "rate": ("MEASURE_RATE", _positional(rate_args, {**body, "category": cell("category")}))}
        amounts = self._amount_cols()
        food_i = next(i for i, c in enumerate(amounts) if c.item == self.lay.food_item_id)
        arr = lambda parts: ("array", parts)  # noqa: E731
        costs = arr([("cell", f"{c.letter}{r}") for c in amounts])
        spec = arr([cell("specific_revenue")] + [("lit", 0)] * (len(amounts) - 1))
        food = arr([cell("food_amount") if i == food_i else ("lit", 0) for i in range(len(amounts))])
        items = arr([cell("placement")] + [("lit", L.item_choice(next(it for _, it in self.rb.items if it.id == c.item)))
                                           for c in amounts[1:]])
        person = {**body, "cost": costs, "specific_revenue": spec, "food_amount": food, "item": items,
                  **{k: cell(k) for k in ("employment", "other_measure", "study_coordinator", "in_strategy_plan",
                                          "months_served")}}
        line = {**person, "category": ("lit", 4), "person_id": cell("person_id")}
        return {"measure_amount": ("COORD_AMOUNT", _positional(coord_args, person)),
                "eligible_cost": ("ELIGIBLE_AMOUNT", _positional(line_args, line)),
                "reasons": ("CHECK_LINE", _positional(line_args, line)),
                "cap": ("COORD_CAP", [cell("employment"), name("TK_FY")])}

    def addin_coord(self, key: str, r: int, C: dict) -> str:
        x = {k: f"{v}{r}" for k, v in C.items()}
        n = x["_lines"]
        if key in ("_lines", "_cost_total"):
            return self.native_coord(key, r, C)
        calls = self.addin_calls(L.SHEET_COORD, r, C)
        if key == "measure_amount":
            return f'=IF({n}=0,"",IFERROR({render(calls["measure_amount"])},""))'
        if key == "eligible_cost":
            return f'=IF({n}=0,"",IFERROR(SUM({render(calls["eligible_cost"])}),""))'
        if key == "cap":
            return f'=IF({n}=0,"",IFERROR({render(calls["cap"])},""))'
        if key == "reasons":
            return f'=IF({n}=0,"",IFERROR(INDEX({render(calls["reasons"])},1,1),""))'
        if key == "status":
            t, v = x["eligible_cost"], x["measure_amount"]
            return (f'=IF({n}=0,"",IF({v}="","エラー",IF({t}=0,"対象外",'
                    f'IF(AND({v}={t},{t}={x["_cost_total"]}),"対象","一部対象"))))')
        if key == "_err":
            return f'=IF({x["status"]}="エラー",{x["reasons"]},"")'
        if key == "_excl":
            return f'=IF({x["status"]}="対象外",{x["reasons"]},"")'
        if key == "_state":
            return self._addin_status(key, x)
        raise KeyError(key)

    # ---- 集計 ---------------------------------------------------------------------------------
    def summary_sheet(self):
        ws, rb, lay = self.ws[L.SHEET_SUMMARY], self.rb, self.lay
        self._header(ws, "集計（区分別）", "自動計算です。④は1人1行で数えます。", L.SUMMARY_COLUMNS, L.SUMMARY_HEADER_ROW)
        LC = {c.key: c.letter for c in L.LINE_COLUMNS}
        CC = {c.key: c.letter for c in lay.coord_columns}
        lf, ll = L.LINES_FIRST_ROW, L.LINES_FIRST_ROW + L.LINES_COUNT - 1
        cf, cl = L.COORD_FIRST_ROW, L.COORD_FIRST_ROW + L.COORD_COUNT - 1
        lr = lambda k: f"'{L.SHEET_LINES}'!${LC[k]}${lf}:${LC[k]}${ll}"  # noqa: E731
        cr = lambda k: f"'{L.SHEET_COORD}'!${CC[k]}${cf}:${CC[k]}${cl}"  # noqa: E731
        first = L.SUMMARY_FIRST_ROW
        for i, cat in enumerate(rb.model.categories):
            r = first + i - 1
            ws.write_string(r, 0, L.category_choice(cat), self.fmt("text"))
            if cat.id == 4:
                f = {"lines": f'=COUNTIF({cr("_state")},">0")', "cost": f"=SUM({cr('_cost_total')})",
                     "eligible_cost": f"=SUM({cr('eligible_cost')})", "measure_amount": f"=SUM({cr('measure_amount')})",
                     "errors": f'=COUNTIF({cr("_state")},1)'}
            else:
                k = cat.id
                f = {"lines": f'=COUNTIFS({lr("_cat")},{k},{lr("_state")},">0")',
                     "cost": f'=SUMIFS({lr("cost")},{lr("_cat")},{k},{lr("_state")},">0")',
                     "eligible_cost": f'=SUMIFS({lr("eligible_cost")},{lr("_cat")},{k})',
                     "measure_amount": f'=SUMIFS({lr("measure_amount")},{lr("_cat")},{k})',
                     "errors": f'=COUNTIFS({lr("_cat")},{k},{lr("_state")},1)'}
            for c in L.SUMMARY_COLUMNS[1:]:
                ws.write_formula(r, L._index(c.letter), f[c.key], self.fmt(c.fmt),
                                 self._cached(L.SHEET_SUMMARY, r + 1, c.key))
        r = first + 5 - 1
        ws.write_string(r, 0, "合計", self.fmt("text", bold=True))
        total = {"lines": f'=COUNTIF({lr("_state")},">0")+COUNTIF({cr("_state")},">0")',
                 "errors": f'=COUNTIF({lr("_state")},1)+COUNTIF({cr("_state")},1)'}
        for c in L.SUMMARY_COLUMNS[1:]:
            col = c.letter
            ws.write_formula(r, L._index(col), total.get(c.key, f"=SUM({col}{first}:{col}{first + 4})"),
                             self.fmt(c.fmt, bold=True), self._cached(L.SHEET_SUMMARY, r + 1, c.key))
        chart = self.wb.add_chart({"type": "column"})
        mcol = L._index(next(c.letter for c in L.SUMMARY_COLUMNS if c.key == "measure_amount"))
        chart.add_series({"name": "措置額（円）",
                          "categories": [L.SHEET_SUMMARY, first - 1, 0, first + 3, 0],
                          "values": [L.SHEET_SUMMARY, first - 1, mcol, first + 3, mcol],
                          "data_labels": {"value": True, "num_format": "#,##0"}})
        chart.set_title({"name": "区分別の措置額"})
        chart.set_legend({"none": True})
        chart.set_y_axis({"num_format": "#,##0"})
        chart.set_size({"width": 720, "height": 320})
        ws.insert_chart(first + 7, 0, chart)
        ws.freeze_panes(L.SUMMARY_HEADER_ROW, 1)
        self._page(ws, L.SUMMARY_HEADER_ROW)
        self._protect(ws)

    # ---- 別添 ---------------------------------------------------------------------------------
    def annex_sheet(self):
        ws, rb = self.ws[L.SHEET_ANNEX], self.rb
        ws.write(0, 0, "別添　対象経費の例（記2(2)・別添(1)(2)）", self.fmt("title", bold=True, font_size=14, border=0))
        ws.write(1, 0, "この一覧が「事業」「コーディネーター」シートの経費項目の選択肢です（ルールブックから自動生成・編集不可）。",
                 self.fmt("title", border=0, font_color="#595959"))
        head = self.fmt("text", bold=True, bg_color="#D9E1F2", align="center")
        for j, h in enumerate(L.ANNEX_COLUMNS):
            ws.write(L.ANNEX_HEADER_ROW - 1, j, h, head)
        notes = {"digital_bond": "デジタル活用推進事業債の対象経費を除く（記2(4)④）",
                 "facility": "新築を除く。団体が実施主体の場合、地域活性化事業債の対象経費を除く（記2(2)③・記2(4)⑤）",
                 "study": "地域外からの学生の受入れが主目的のものに限る（学校魅力化が主目的のものを除く）",
                 "food_excluded": "飲食に要する経費を除く（別添(2)）"}
        for i, (cat, it) in enumerate(rb.items):
            r = L.ANNEX_FIRST_ROW + i - 1
            note = "／".join(v for k, v in notes.items() if getattr(it, k))
            if cat.id == 4 and it.study:
                note += "／地方版総合戦略等の計画に位置付けられたものに限る"
            for j, v in enumerate((it.id, L.category_choice(cat), it.label, "・".join(it.sources), note.strip("／"))):
                ws.write_string(r, j, v, self.fmt("text", text_wrap=True))
        for j, w in enumerate((8, 18, 60, 26, 50)):
            ws.set_column(j, j, w)
        ws.freeze_panes(L.ANNEX_HEADER_ROW, 0)
        self._page(ws, L.ANNEX_HEADER_ROW)
        self._protect(ws)


def _positional(order, given: dict) -> list:
    """Arguments in the UDF's order; unused ones in the middle become "" (blank = default)."""
    last = max(i for i, k in enumerate(order) if k in given)
    return [given.get(k, ("lit", "")) for k in order[: last + 1]]


def render(call) -> str:
    func, args = call
    return f"{func}(" + ",".join(_render_arg(a) for a in args) + ")"


def _render_arg(a) -> str:
    kind, v = a
    if kind in ("cell", "name"):
        return v
    if kind == "lit":
        return q(v) if isinstance(v, str) else str(v)
    # a 1×n array from cells: CHOOSE({1,2,…},a,b,…) works in Excel and LibreOffice
    return "CHOOSE({" + ",".join(str(i + 1) for i in range(len(v))) + "}," + ",".join(_render_arg(p) for p in v) + ")"


def _chain(checks: list[tuple[str, str]]) -> str:
    """IF(c1,m1,IF(c2,m2,…,"")): the first condition that holds decides."""
    out = '""'
    for cond, val in reversed(checks):
        out = f"IF({cond},{val},{out})"
    return out


# ---- public API --------------------------------------------------------------------------

def build_workbook(path: Path, variant: str = "native", rb: Rulebook | None = None, fill: Fill | None = None) -> Path:
    if variant not in L.VARIANTS:
        raise ValueError(variant)
    return _Builder(Path(path), variant, rb or rulebook_mod.get(), fill).build()


def engine_cached(path: Path | None, rb: Rulebook, result=None) -> dict:
    """Cached values for a filled workbook's formula cells: the engine's results on read_lines.

    `result`: the engine's output on those lines, when the caller has it already.
    Per sheet row (a coordinator row is several engine lines): amounts summed, statuses merged
    (one status, else エラー if any, else 一部対象), the deciding rule's sentence as 理由.
    """
    from . import engine
    from .normalize import Parsers
    parsers = Parsers(rb)
    ctx = engine.context(rb)
    res = result if result is not None else engine.evaluate_frame(L.read_lines(path, rb), rb)
    exclusions = {ctx.reason_text(int(engine.BIT[e]), 0)[0] for e in engine.EXCLUSIONS}
    cached: dict = {}
    for (sheet, row), grp in res.groupby(["sheet", "row"], sort=False):
        st = set(grp["status"])
        status = st.pop() if len(st) == 1 else ("error" if "error" in st else "partial")
        ids = set(" ".join(grp["rule_ids"]).split())
        excl = status != "error" and grp["reasons"].iloc[0].split(" [")[0] in exclusions
        rec: dict = {"_state": L.STATE_ERROR if status == "error" else (L.STATE_EXCLUDED if excl else L.STATE_COUNTED),
                     "status": engine.STATUS_JA[status], "reasons": ""}
        if status == "error":
            rec.update(eligible_cost="", measure_amount="", rate="", cap="", reasons=grp["reasons"].iloc[0])
            rec["_err"] = rec["reasons"]
        else:
            rec["eligible_cost"] = int(sum(grp["eligible_cost"]))
            rec["measure_amount"] = int(sum(grp["measure_amount"]))
            if excl:
                rec["reasons"] = rec["_excl"] = grp["reasons"].iloc[0].split(" [")[0]
        if sheet == L.SHEET_LINES:
            if status != "error":
                rec["rate"] = float(grp["rate"].iloc[0])
            c = grp["category"].iloc[0]
            rec["_cat"] = (parsers.category(c)[0] or 0) if c not in (None, "") else 0
            rec["_cost"] = int(grp["cost"].iloc[0]) if status != "error" else 0
        else:
            rec["_lines"] = len(grp)
            rec["_cost_total"] = int(sum(int(v) for v in grp["cost"]))
            if status != "error":
                fy = int(grp["fiscal_year"].iloc[0])
                ded = parsers.employments.parse(grp["employment"].iloc[0])[0] == 0
                rec["cap"] = rb.param("coord_cap_dedicated" if ded else "coord_cap_concurrent", fy)
                for rid in ("CAP-COORD-DEDICATED", "CAP-COORD-CONCURRENT"):
                    if not excl and rid in ids and any(ctx.reason_text(int(engine.BIT[(rid, "capped")]), 0)[0] in t for t in grp["reasons"]):
                        rec["reasons"] = ctx.reason_text(int(engine.BIT[(rid, "capped")]), 0)[0]
        for k, v in rec.items():
            cached[(sheet, int(row), k)] = v
    return cached


def build_all(out_dir: Path, rb: Rulebook | None = None) -> list[Path]:
    """Both variants and the filled sample, written to out_dir (atomically per file)."""
    rb = rb or rulebook_mod.get()
    out_dir = Path(out_dir)
    (out_dir / "examples").mkdir(parents=True, exist_ok=True)
    written = []
    for variant in L.VARIANTS:
        written.append(atomic_write(out_dir / L.file_name(variant), lambda p, v=variant: build_workbook(p, v, rb)))
    fill = sample_fill(rb)

    def sample(p: Path):
        build_workbook(p, "native", rb, fill)
        fill.cached = engine_cached(p, rb)
        fill.cached.update(summary_cached(fill.cached, rb))
        build_workbook(p, "native", rb, fill)

    written.append(atomic_write(out_dir / "examples" / L.SAMPLE_NAME, sample))
    return written


def summary_cached(cached: dict, rb: Rulebook) -> dict:
    out = {}
    first = L.SUMMARY_FIRST_ROW
    totals = {k: 0 for k in ("lines", "cost", "eligible_cost", "measure_amount", "errors")}
    for i, cat in enumerate(rb.model.categories):
        vals = {k: 0 for k in totals}
        for (sheet, row, key), v in cached.items():
            if key != "_state":
                continue
            is_cat = (sheet == L.SHEET_COORD) if cat.id == 4 else (
                sheet == L.SHEET_LINES and cached.get((sheet, row, "_cat")) == cat.id)
            if not is_cat:
                continue
            vals["lines"] += 1
            vals["errors"] += v == L.STATE_ERROR
            for k in ("eligible_cost", "measure_amount"):
                e = cached.get((sheet, row, k))
                vals[k] += e if isinstance(e, int) else 0
            vals["cost"] += cached.get((sheet, row, "_cost_total"), 0) if sheet == L.SHEET_COORD else \
                cached.get((sheet, row, "_cost"), 0)
        for k, v in vals.items():
            out[(L.SHEET_SUMMARY, first + i, k)] = v
            totals[k] += v
    for k, v in totals.items():
        out[(L.SHEET_SUMMARY, first + 5, k)] = v
    return out


def sample_fill(rb: Rulebook) -> Fill:
    """A realistic 市町村 (茅野市) with every category, exclusions, 兼務/専任 and one capped coordinator."""
    ch = {it.id: L.item_choice(it) for _, it in rb.items}
    cat = {c.id: L.category_choice(c) for c in rb.model.categories}
    dual = rb.model.main_purposes[0].label

    def line(c, item, name, cost, **kw):
        return {"category": cat[c], "item": ch[item], "project_name": name, "cost": cost, "main_purpose": kw.pop("purpose", dual),
                "national_subsidy": NO, "cash_benefit": NO, "new_construction": NO, **kw}

    lines = [
        line(1, "C1-01", "東京での二地域居住セミナー（年4回）", 1_200_000),
        line(1, "C1-05", "プロモーション動画の制作", 2_500_000, specific_revenue=500_000),
        line(1, "C1-08", "二地域居住者登録システムの構築", 8_000_000, bond_amount=6_000_000),
        line(2, "C2-01", "東京事務所での相談窓口の設置", 3_600_000),
        line(3, "C3-03", "二地域居住体験ツアー（八ヶ岳）", 1_800_000, specific_revenue=300_000),
        line(3, "C3-06", "コワーキングスペースの改修", 15_000_000, bond_amount=9_000_000),
        line(3, "C3-06", "サテライトオフィスの新築", 40_000_000, new_construction=YES),
        line(3, "C3-01", "観光イベントと併催の交流会", 2_000_000, apportion_ratio=0.4,
             purpose=rb.model.main_purposes[2].label),
        line(3, "C3-03", "移住体験ツアー（移住促進）", 900_000, purpose=rb.model.main_purposes[1].label),
        line(5, "C5-03", "空き家バンクの運営", 1_100_000),
        line(5, "C5-04", "住宅改修への助成", 3_000_000, specific_revenue=1_000_000),
        line(5, "C5-05", "二地域居住者の交通費助成", 1_500_000, cash_benefit=YES),
    ]
    lay = L.get(rb)
    col = {c.item: c.key for c in lay.coord_columns if c.item}
    coords = [
        {"person_name": "専任コーディネーター（移住相談員）", "employment": "専任", "other_measure": "なし",
         "study_coordinator": NO, "placement": ch["C4-02"], "reward": 4_800_000,
         col["C4-07"]: 600_000, col["C4-11"]: 250_000, "food_amount": 80_000},
        {"person_name": "兼務コーディネーター（観光協会職員）", "employment": "兼務", "other_measure": "なし",
         "study_coordinator": NO, "placement": ch["C4-02"], "reward": 360_000, col["C4-10"]: 30_000},
        {"person_name": "地域おこし協力隊員（兼コーディネーター）", "employment": "専任", "other_measure": "地域おこし協力隊",
         "study_coordinator": NO, "placement": ch["C4-02"], "reward": 2_400_000},
    ]
    body = {"body_name": "茅野市", "body_code": "202142", "body_type": "市町村", "fiscal_year": 2025,
            "fiscal_correction": 1}
    return Fill(body=body, lines=lines, coordinators=coords)
