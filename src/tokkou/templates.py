"""`tokkou template build`: the workbook templates, generated from the rulebook.

Two variants of one layout (tokkou.layout): `native` computes with plain Excel formulas that read
every cap, rate, list and message from the protected ルール sheet; `addin` calls the tokkou UDFs.
The parts: formulas (tokkou.formulas, pure text), expected cell values (tokkou.expected), one writer
per sheet (tokkou.template_sheets), the reader of a filled template (tokkou.template_reader).
The LibreOffice cross-check test proves the native formulas equal to the engine. Output is
byte-for-byte reproducible.
"""
from __future__ import annotations

from pathlib import Path

from . import layout as L
from . import rulebook as rulebook_mod
from .expected import engine_cached, summary_cached
from .formula_parts import floordiv, q, render
from .rulebook import Rulebook
from .files import atomic_write
from .template_book import Book, Fill
from .template_sheets import SHEET_WRITERS

YES, NO = L.YES, L.NO
__all__ = ["Fill", "build_workbook", "build_all", "sample_fill", "engine_cached", "summary_cached",
           "floordiv", "q", "render"]


def build_workbook(path: Path, variant: str = "native", rb: Rulebook | None = None, fill: Fill | None = None) -> Path:
    """Write one template variant ("native" | "addin") to `path`, optionally filled; returns path."""
    if variant not in L.VARIANTS:
        raise ValueError(variant)
    book = Book(Path(path), variant, rb or rulebook_mod.get(), fill)
    for write in SHEET_WRITERS:
        write(book)
    book.wb.close()
    return book.path


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

