"""The batch trace fills one template per kind of line; the text stays what the per-line
rendering of before issue 12 wrote (kept here as the reference)."""
from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tokkou import render
from tokkou.render import UNIT_LABELS, rate_text, yen


def old_general_trace(t):  # render.general_trace as of commit 6e48002, verbatim
    parts = [f"事業費 {yen(t['cost'])}"]
    for label, key in (("特定財源", "spec"), ("起債対象経費", "bond"), ("対象外経費", "excl"), ("飲食費", "food")):
        if t.get(key):
            parts.append(f" − {label} {yen(t[key])}")
    text = "".join(parts)
    if len(parts) > 1:
        raw = t["cost"] - sum(t.get(k) or 0 for k in ("spec", "bond", "excl", "food"))
        text += f" = {yen(t['base'])}" + ("（控除が事業費以上のため0）" if raw < 0 else "")
    if t.get("ratio") is not None:
        text += f" × 按分率 {rate_text(t['ratio'])} = {yen(t['eligible'])}"
    if t.get("coordinator"):
        return text
    coef = t["coef"]
    coef_s = format(coef, "f") if coef.as_tuple().exponent < 0 else f"{coef}.0"
    text += f" × {rate_text(t['general_rate'])} × 補正係数 {coef_s} = {yen(t['measure'])}"
    return text + f"（{UNIT_LABELS[t['unit']]}未満切捨て）"


YEN = st.integers(0, 10**12)
LINE = st.fixed_dictionaries({
    "cost": YEN, "spec": st.one_of(st.just(0), YEN), "bond": st.one_of(st.just(0), YEN),
    "excl": st.one_of(st.just(0), YEN), "food": st.one_of(st.just(0), YEN), "base": YEN, "eligible": YEN,
    "measure": YEN, "unit": st.sampled_from(sorted(UNIT_LABELS)), "coordinator": st.booleans(),
    "ratio": st.one_of(st.none(), st.decimals(Decimal("0.0001"), Decimal("0.9999"), places=4)),
    "general_rate": st.sampled_from([Decimal("0.5"), Decimal("0.45"), Decimal("1")]),
    "coef": st.sampled_from([Decimal("1"), Decimal("1.0"), Decimal("0.9"), Decimal("1.15"), Decimal("0.8500")]),
})


@settings(max_examples=500, deadline=None)
@given(LINE)
def test_template_trace_equals_the_per_line_trace_of_before(t):
    assert render.general_trace(t) == old_general_trace(t)


def old_coordinator_trace(t):  # render.coordinator_trace as of commit 6e48002, verbatim
    head = old_general_trace({**t, "coordinator": True})
    cap = f"上限 {yen(t['cap'])}"
    if t.get("prorated"):
        cap += f"（{yen(t['full_cap'])} × {t['months']}/12）"
    rated = "" if t["person_rate"] == 1 else f" × 率 {rate_text(t['person_rate'])} = {yen(t['rated'])}"
    person = f"この人の{t['lines']}行の合計 {yen(t['sum'])}{rated}"
    total = f"min({yen(t['rated'])}, {cap}) = {yen(t['total'])}"
    if t["lines"] == 1:
        return f"{head}。{person}、{total}（{UNIT_LABELS[t['unit']]}未満切捨て）"
    share = f"この行の按分 {yen(t['total'])} × {yen(t['eligible'])}/{yen(t['sum'])} = {yen(t['measure'])}"
    return f"{head}。{person}、{total}、{share}（端数は合計が一致するよう調整）"


PERSON = st.fixed_dictionaries({
    "cap": YEN, "full_cap": YEN, "months": st.integers(1, 12), "prorated": st.booleans(), "sum": YEN,
    "rated": YEN, "total": YEN, "lines": st.integers(1, 3000),
    "person_rate": st.sampled_from([Decimal("1"), Decimal("0.5"), Decimal("1.0")]),
})


@settings(max_examples=500, deadline=None)
@given(LINE, PERSON)
def test_template_coordinator_trace_equals_the_per_line_trace_of_before(t, p):
    t = {**t, **p}
    assert render.coordinator_trace(t) == old_coordinator_trace(t)


def test_equal_coefficients_written_differently_keep_their_own_text():
    # Decimal("1.0") == Decimal("1.00") (same hash): a template cached by the Decimal would print the first one seen
    t = {"cost": 1000, "base": 1000, "eligible": 1000, "measure": 500, "unit": 1, "general_rate": Decimal("0.5")}
    for texts in (["1.0", "1.00", "1", "1.0"], ["0.90", "0.9", "0.900"]):
        for text in texts:
            got = render.general_trace({**t, "coef": Decimal(text)})
            want = text if "." in text else text + ".0"
            assert f"補正係数 {want} =" in got, (text, got)


def test_calc_writes_each_coefficient_as_before(tmp_path):
    # calc of 1.00, 1.0, 1, 0.90, 0.9: the output file is byte for byte what the calc of 6e48002 wrote
    import subprocess
    import sys
    from pathlib import Path
    golden = Path(__file__).parent / "golden"
    out = tmp_path / "out.csv"
    r = subprocess.run([sys.executable, "-m", "tokkou.cli", "calc", str(golden / "coef_texts_input.csv"),
                        "-o", str(out), "--quiet"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == (golden / "coef_texts_calc_6e48002.csv").read_bytes()


def test_one_line_trace_writes_the_coefficient_as_given():
    from tokkou.engine import evaluate_line
    line = {"body_type": "市町村", "fiscal_year": 2025, "category": 3, "cost": 1_000_000}
    for text in ("1.0", "1.00", "0.9", "0.90"):
        r = evaluate_line(**line, fiscal_correction=text)
        assert f"補正係数 {text} =" in r.trace, (text, r.trace)
