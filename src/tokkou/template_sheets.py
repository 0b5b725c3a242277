"""The template's sheets, one function each: `write(book)` for each sheet in layout.SHEETS.

Formulas come from tokkou.formulas / formulas_sheets (pure text); cached values from
tokkou.expected; every sheet name, row and column from tokkou.layout.
"""
from __future__ import annotations

from decimal import Decimal

from . import __version__, formulas, formulas_sheets as FS, layout as L
from .expected import body_values, rate_scales
from .template_book import Book

YES, NO = L.YES, L.NO
MESSAGES_TITLE = "ルールの理由文（ルールID別・パラメータの期間別）"


# ---- ルール -----------------------------------------------------------------------------------

def _rules_scalars(book: Book) -> list[tuple]:
    rb, m = book.rb, book.rb.model
    interp = rb.interp
    rate_scale, crate_scale = rate_scales(rb)
    fc = interp.fiscal_correction
    return [
        ("TK_VALID_FROM", m.valid_from, "適用開始年度", "SCOPE-FY"),
        ("TK_UNIT", interp.rounding.unit, "措置額の端数処理の単位（円・切り捨て）", "INTERP-ROUNDING"),
        ("TK_DEDUCT", 1 if interp.specific_revenue.deduct else 0, "特定財源を控除する（1=する）", "INTERP-SPECIFIC-REVENUE"),
        ("TK_REQUIRE_RATIO", 1 if interp.apportion.require_ratio_for_mixed else 0,
         "観光・産業振興が主目的の事業は按分率を必須とする（1=必須）", "APPORTION-MIXED"),
        ("TK_RATIO_SCALE", 10 ** interp.apportion.max_decimals, "按分率の桁（10^小数桁数）", "APPORTION-MIXED"),
        ("TK_COEF_DEFAULT", float(Decimal(fc.default_coefficient)), "財政力補正係数の既定値", "INTERP-FISCAL-CORRECTION"),
        ("TK_COEF_MIN", float(Decimal(fc.min_coefficient)), "財政力補正係数の下限", "INTERP-FISCAL-CORRECTION"),
        ("TK_COEF_MAX", float(Decimal(fc.max_coefficient)), "財政力補正係数の上限", "INTERP-FISCAL-CORRECTION"),
        ("TK_RATE_SCALE", rate_scale, "措置率×補正係数の桁（10^小数桁数）", "RATE-GENERAL"),
        ("TK_CRATE_SCALE", crate_scale, "④の率の桁（10^小数桁数）", "INTERP-COORD-RATE"),
        ("TK_PRORATE", 1 if interp.proration.mode == "monthly" else 0, "④上限額を従事月数で月割りする（1=する）",
         "INTERP-PRORATION"),
    ]


def _rules_periods(book: Book, ws, r0: int, head) -> int:
    """The period table (OpenFisca-style dated parameters); returns its last row index."""
    rb = book.rb
    years = rb.param_years()
    cols = [("TK_P_YEARS", "適用開始年度", None), ("TK_P_GENERAL", "①②③⑤措置率", "general_rate"),
            ("TK_P_CAP_DED", "④専任上限額", "coord_cap_dedicated"), ("TK_P_CAP_CON", "④兼務上限額", "coord_cap_concurrent"),
            ("TK_P_CRATE", "④の率", "coordinator_rate")]
    ws.write(r0 - 1, 0, "期間ごとのパラメータ", book.fmt("text", bold=True, border=0))
    ws.write_row(r0, 0, [c[1] for c in cols], head)
    for i, y in enumerate(years):
        for j, (_, _, pname) in enumerate(cols):
            v = y if pname is None else rb.param(pname, y)
            ws.write_number(r0 + 1 + i, j, float(v) if isinstance(v, Decimal) else v,
                            book.fmt("rate" if isinstance(v, Decimal) else ("int" if pname is None else "yen")))
    for j, (name, _, _) in enumerate(cols):
        book.define(name, L.SHEET_RULES, (r0 + 1, j), (r0 + len(years), j))
    return r0 + len(years)


def _rules_lists(book: Book) -> list[tuple[str, str, list]]:
    rb, m = book.rb, book.rb.model
    items, placements = rb.items, L.placement_items(rb)
    lists = [
        ("TK_CAT_ALL", "区分（全体）", [L.category_choice(c) for c in m.categories]),
        ("TK_CAT_IDS", "区分番号", [c.id for c in m.categories]),
        ("TK_CAT_LINES", "区分（事業シート）", [L.category_choice(rb.category(i)) for i in L.LINES_CATEGORIES]),
        ("TK_ITEM_ALL", "経費項目（全体）", [L.item_choice(it) for _, it in items]),
        ("TK_ITEM_CAT", "経費項目の区分", [c.id for c, _ in items]),
        ("TK_ITEMS_LINES", "経費項目（事業シート）", [L.item_choice(it) for c, it in items if c.id in L.LINES_CATEGORIES]),
    ]
    for cid in L.LINES_CATEGORIES:
        lists.append((f"TK_ITEMS_{cid}", f"経費項目（区分{cid}）", [L.item_choice(it) for it in rb.category(cid).items]))
    return lists + [
        ("TK_PLACEMENTS", "配置の種類（④）", [L.item_choice(it) for it in placements]),
        ("TK_PLACE_STUDY", "地域留学の配置", [1 if it.study else 0 for it in placements]),
        ("TK_BODY_TYPES", "団体区分", [b.label for b in m.body_types]),
        ("TK_BODY_ELIG", "対象団体", [1 if b.eligible else 0 for b in m.body_types]),
        ("TK_PURPOSES", "主目的", [p.label for p in m.main_purposes]),
        ("TK_EMP", "従事形態", [e.label for e in m.employments]),
        ("TK_OTHER", "他制度適用", [o.label for o in m.other_measures]),
        ("TK_YESNO", "はい／いいえ", [YES, NO]),
    ]


def _rules_messages(book: Book, ws, r0: int, head) -> None:
    """Rule messages by key (rows) and parameter period (columns): TK_MSG_KEYS and TK_MSG."""
    table = formulas.message_table(book.rb)
    years = book.rb.param_years()
    ws.write(r0 - 1, 0, MESSAGES_TITLE, book.fmt("text", bold=True, border=0))
    ws.write_row(r0, 0, ["ルールID:区分"] + [f"{y}年度から" for y in years], head)
    for i, (key, texts) in enumerate(table):
        ws.write_string(r0 + 1 + i, 0, key, book.fmt())
        for j, text in enumerate(texts):
            ws.write_string(r0 + 1 + i, 1 + j, text, book.fmt())
    book.define("TK_MSG_KEYS", L.SHEET_RULES, (r0 + 1, 0), (r0 + len(table), 0))
    book.define("TK_MSG", L.SHEET_RULES, (r0 + 1, 1), (r0 + len(table), len(years)))


def rules_sheet(book: Book) -> None:
    ws, rb = book.ws[L.SHEET_RULES], book.rb
    title = book.fmt("title", bold=True, font_size=14, border=0)
    head = book.fmt("text", bold=True, bg_color="#D9E1F2")
    ws.write(0, 0, "算定ルール（ルールブックから自動生成・編集不可）", title)
    ws.write(1, 0, f"{rb.model.title}／ルールブック {rb.name}／sha256 {rb.sha256}")
    scalars = _rules_scalars(book)
    ws.write_row(3, 0, ["名前", "値", "内容", "ルールID"], head)
    for i, (name, value, desc, rid) in enumerate(scalars):
        r = 4 + i
        ws.write(r, 0, name, book.fmt())
        ws.write_number(r, 1, value, book.fmt("int" if isinstance(value, int) else "rate"))
        ws.write(r, 2, desc, book.fmt())
        ws.write(r, 3, rid, book.fmt())
        book.define(name, L.SHEET_RULES, (r, 1))
    last = _rules_periods(book, ws, 4 + len(scalars) + 2, head)
    c0 = 6  # lists for dropdowns and lookups, one column each from column G on
    lists = _rules_lists(book)
    for j, (name, header, values) in enumerate(lists):
        ws.write(3, c0 + j, header, head)
        for i, v in enumerate(values):
            if isinstance(v, str):
                ws.write_string(4 + i, c0 + j, v, book.fmt())
            else:
                ws.write_number(4 + i, c0 + j, v, book.fmt("int"))
        book.define(name, L.SHEET_RULES, (4, c0 + j), (3 + len(values), c0 + j))
        ws.set_column(c0 + j, c0 + j, 30 if isinstance(values[0], str) and len(str(values[0])) > 8 else 12)
    if not formulas.INLINE_MESSAGES:
        _rules_messages(book, ws, max(last, 3 + max(len(v) for _, _, v in lists)) + 3, head)
    for col, width in ((0, 18), (1, 10), (2, 44), (3, 24)):
        ws.set_column(col, col, width)
    book.page(ws)
    book.protect(ws)


# ---- 表紙 -------------------------------------------------------------------------------------

def _cover_steps(rb) -> list[str]:
    m = rb.model
    return [
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


def cover_sheet(book: Book) -> None:
    ws, rb = book.ws[L.SHEET_COVER], book.rb
    m = rb.model
    ws.set_column(0, 0, 2)
    ws.set_column(1, 1, 30)
    ws.set_column(2, 2, 90)
    ws.write(1, 1, f"{m.title} 経費算定様式", book.fmt("title", bold=True, font_size=16, border=0))
    values = {
        "rulebook_title": m.title, "rulebook_name": rb.name,
        "notice_numbers": "・".join(m.notice.numbers), "notice_date": m.notice.date_ja,
        "notice_title": m.notice.title, "valid_years": f"{m.valid_from}年度（令和{m.valid_from - 2018}年度）から",
        "rulebook_hash": rb.sha256, "layout_version": L.LAYOUT_VERSION,
        "variant": "Excel標準の数式（アドイン不要）" if book.variant == "native" else "tokkouアドインの関数（UDF）",
        "tokkou_version": f"tokkou {__version__}",
    }
    for i, (key, label) in enumerate(L.COVER_FIELDS):
        r = L.COVER_FIRST_ROW + i - 1
        ws.write(r, 1, label, book.fmt("text", bold=True))
        v = values[key]
        (ws.write_number if isinstance(v, int) else ws.write_string)(r, 2, v, book.fmt("text", text_wrap=True))
    r = L.COVER_FIRST_ROW + len(L.COVER_FIELDS) + 1
    ws.write(r, 1, "記入のしかた", book.fmt("title", bold=True, font_size=12, border=0))
    for i, s in enumerate(_cover_steps(rb)):
        ws.write(r + 1 + i, 1, s, book.fmt("title", border=0))
    book.page(ws, landscape=False)
    book.protect(ws)


# ---- 団体情報 ----------------------------------------------------------------------------------

_BODY_NOTES = {
    "body_name": "例: 茅野市",
    "body_code": "全国地方公共団体コード6桁（検査数字付き）。例: 202142",
    "body_type": "都道府県・市町村（特別区・一部事務組合・広域連合は対象外）。空欄なら団体コードから判定",
    "fiscal_year": "西暦で入力（例: 2025）。{valid_from}年度から適用",
    "fiscal_correction": "措置率0.5に乗じる係数（0〜2、小数4桁まで）。空欄は1（補正前）",
}


def body_sheet(book: Book) -> None:
    ws = book.ws[L.SHEET_BODY]
    for col, width in ((0, 2), (1, 34), (2, 22), (3, 60)):
        ws.set_column(col, col, width)
    ws.write(1, 1, "団体情報", book.fmt("title", bold=True, font_size=14, border=0))
    for i, (key, label) in enumerate(L.BODY_FIELDS):
        r = L.BODY_FIRST_ROW + i - 1
        ws.write(r, 1, label, book.fmt("text", bold=True))
        kind = {"fiscal_correction": "rate", "fiscal_year": "int"}.get(key, "text")
        book.write_value(ws, r, 2, book.fill.body.get(key), book.fmt(kind, locked=False))
        note = _BODY_NOTES[key].format(valid_from=book.rb.model.valid_from)
        ws.write(r, 3, note, book.fmt("title", border=0, font_color="#595959"))
        book.define(FS.BODY_NAMES[key], L.SHEET_BODY, (r, 2))
    book.validate(ws, FS.body_validations())
    ws.write(L.BODY_CALC_FIRST_ROW - 2, 1, "自動判定（編集不可）", book.fmt("title", bold=True, border=0))
    texts = FS.body_formulas(formulas.context(book.rb))
    cached = body_values(book.rb, book.fill.body)
    for i, (key, label) in enumerate(L.BODY_CALC_FIELDS):
        r = L.BODY_CALC_FIRST_ROW + i - 1
        ws.write(r, 1, label, book.fmt("text"))
        kind = {"general_rate": "rate", "cap_dedicated": "yen", "cap_concurrent": "yen"}.get(key, "General")
        ws.write_formula(r, 2, "=" + texts[key], book.fmt(kind), cached.get(key, ""))
        book.define(FS.BODY_CALC_NAMES[key], L.SHEET_BODY, (r, 2))
    ws.freeze_panes(L.BODY_FIRST_ROW - 1, 0)
    book.page(ws)
    book.protect(ws)


# ---- 事業 / コーディネーター -------------------------------------------------------------------

def lines_sheet(book: Book) -> None:
    ws = book.ws[L.SHEET_LINES]
    cols = L.LINE_COLUMNS
    book.header(ws, "事業（①情報発信 ②相談窓口 ③きっかけづくり ⑤受入環境整備）",
                "黄色のセルに1行1事業で入力します。灰色のセルは自動計算です（④コーディネーターは別シート）。",
                cols, L.LINES_HEADER_ROW)
    first, n = L.LINES_FIRST_ROW, L.LINES_COUNT
    last = first + n - 1
    ctx = formulas.context(book.rb)
    book.write_rows(ws, L.SHEET_LINES, cols, first, n, book.fill.lines,
                    lambda key, r: formulas._formula(ctx, book.variant, L.SHEET_LINES, key, r),
                    lambda r, col, i: ws.write_number(r, col, i + 1, book.fmt("int")))
    book.validate(ws, FS.lines_validations())
    reasons = L._index(L.LINES["reasons"].letter)
    ws.freeze_panes(L.LINES_HEADER_ROW, 3)
    ws.autofilter(L.LINES_HEADER_ROW - 1, 0, last - 1, reasons)
    book.page(ws, L.LINES_HEADER_ROW)
    if book.fill.lines:  # a filled workbook prints its lines, not 300 empty rows
        ws.print_area(0, 0, L.LINES_HEADER_ROW - 1 + len(book.fill.lines), reasons)
    book.protect(ws)


def coord_sheet(book: Book) -> None:
    ws, lay, rb = book.ws[L.SHEET_COORD], book.lay, book.rb
    fy = rb.model.valid_from
    book.header(ws, "④コーディネーター（1人1行）",
                f"専任は1人{rb.param('coord_cap_dedicated', fy):,}円、兼務は1人{rb.param('coord_cap_concurrent', fy):,}円が上限です。"
                "飲食費は「地域住民との交流」の内数として入力します。", lay.coord_columns, L.COORD_HEADER_ROW)
    ctx = formulas.context(rb)
    book.write_rows(ws, L.SHEET_COORD, lay.coord_columns, L.COORD_FIRST_ROW, L.COORD_COUNT, book.fill.coordinators,
                    lambda key, r: formulas._formula(ctx, book.variant, L.SHEET_COORD, key, r),
                    lambda r, col, i: ws.write_string(r, col, L.coordinator_id(i), book.fmt("text")))
    book.validate(ws, FS.coord_validations(lay))
    ws.freeze_panes(L.COORD_HEADER_ROW, 2)
    book.page(ws, L.COORD_HEADER_ROW)
    if book.fill.coordinators:
        ws.print_area(0, 0, L.COORD_HEADER_ROW - 1 + len(book.fill.coordinators), L._index(lay.coord["reasons"].letter))
    book.protect(ws)


# ---- 集計 / 別添 -------------------------------------------------------------------------------

def summary_sheet(book: Book) -> None:
    ws, rb = book.ws[L.SHEET_SUMMARY], book.rb
    book.header(ws, "集計（区分別）", "自動計算です。④は1人1行で数えます。", L.SUMMARY_COLUMNS, L.SUMMARY_HEADER_ROW)
    texts = FS.summary_formulas(rb, book.lay)
    first = L.SUMMARY_FIRST_ROW
    labels = [L.category_choice(c) for c in rb.model.categories] + ["合計"]
    for i, label in enumerate(labels):
        r, bold = first + i, label == labels[-1]
        ws.write_string(r - 1, 0, label, book.fmt("text", bold=True) if bold else book.fmt("text"))
        for c in L.SUMMARY_COLUMNS[1:]:
            ws.write_formula(r - 1, L._index(c.letter), texts[(r, c.key)],
                             book.fmt(c.fmt, bold=True) if bold else book.fmt(c.fmt),
                             book.cached(L.SHEET_SUMMARY, r, c.key))
    chart = book.wb.add_chart({"type": "column"})
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
    book.page(ws, L.SUMMARY_HEADER_ROW)
    book.protect(ws)


_ANNEX_NOTES = {"digital_bond": "デジタル活用推進事業債の対象経費を除く（記2(4)④）",
                "facility": "新築を除く。団体が実施主体の場合、地域活性化事業債の対象経費を除く（記2(2)③・記2(4)⑤）",
                "study": "地域外からの学生の受入れが主目的のものに限る（学校魅力化が主目的のものを除く）",
                "food_excluded": "飲食に要する経費を除く（別添(2)）"}


def annex_sheet(book: Book) -> None:
    ws, rb = book.ws[L.SHEET_ANNEX], book.rb
    ws.write(0, 0, "別添　対象経費の例（記2(2)・別添(1)(2)）", book.fmt("title", bold=True, font_size=14, border=0))
    ws.write(1, 0, "この一覧が「事業」「コーディネーター」シートの経費項目の選択肢です（ルールブックから自動生成・編集不可）。",
             book.fmt("title", border=0, font_color="#595959"))
    head = book.fmt("text", bold=True, bg_color="#D9E1F2", align="center")
    for j, h in enumerate(L.ANNEX_COLUMNS):
        ws.write(L.ANNEX_HEADER_ROW - 1, j, h, head)
    for i, (cat, it) in enumerate(rb.items):
        r = L.ANNEX_FIRST_ROW + i - 1
        note = "／".join(v for k, v in _ANNEX_NOTES.items() if getattr(it, k))
        if cat.id == 4 and it.study:
            note += "／地方版総合戦略等の計画に位置付けられたものに限る"
        for j, v in enumerate((it.id, L.category_choice(cat), it.label, "・".join(it.sources), note.strip("／"))):
            ws.write_string(r, j, v, book.fmt("text", text_wrap=True))
    for j, w in enumerate((8, 18, 60, 26, 50)):
        ws.set_column(j, j, w)
    ws.freeze_panes(L.ANNEX_HEADER_ROW, 0)
    book.page(ws, L.ANNEX_HEADER_ROW)
    book.protect(ws)


SHEET_WRITERS = (rules_sheet, cover_sheet, body_sheet, lines_sheet, coord_sheet, summary_sheet, annex_sheet)
