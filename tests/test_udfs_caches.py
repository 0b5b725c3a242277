"""The one-line caches (udfs._RESULTS, engine_xp._PARSED) keep only what is safe to keep: no huge
keys, no value that another value equal in Python parses apart from, nothing computed with a
rulebook that has not passed its check."""
from __future__ import annotations

import threading

import pytest

from officejs import call, udfs
from tokkou import engine, engine_xp, normalize, rulecheck
from tokkou.rulebook import RulebookError, load

LINE = {"category": 4, "cost": 1_000_000, "fiscal_year": 2025, "body_type": "市町村", "employment": "専任"}


def test_a_line_with_a_long_text_is_computed_but_not_kept(monkeypatch):
    calls = []
    real = engine.evaluate_one
    monkeypatch.setattr(engine, "evaluate_one", lambda f, *a, **k: calls.append(1) or real(f, *a, **k))
    monkeypatch.setattr(udfs, "_RESULTS", {})
    long_id = "K" * 32_000  # a pasted cell: the key would hold all of it, 20,000 times over
    for _ in range(2):
        assert call("CHECK_LINE", **LINE, person_id=long_id) in ("対象", "一部対象")
    assert len(calls) == 2 and not udfs._RESULTS
    for _ in range(2):  # 200 characters and fewer: kept, computed once
        call("CHECK_LINE", **LINE, person_id="K" * 200)
    assert len(calls) == 3 and len(udfs._RESULTS) == 1


def test_zero_and_minus_zero_are_parsed_apart(monkeypatch):
    monkeypatch.setattr(engine_xp, "_PARSED", {})
    for key in ("fiscal_correction", "apportion_ratio", "fiscal_index"):
        col, parser, _ = next(i for i in engine.context().inputs if i[0].key == key)
        for v in (0.0, -0.0, 0.0):
            got = engine_xp.ONE.parse_column(v, parser, col, {}).values[0]
            assert repr(got) == repr(normalize.parse_value(v, parser)[0]), (key, v, got)


def test_a_context_is_not_shared_before_its_rulebook_passes_the_check(rules_copy, monkeypatch):
    """A concurrent call while a broken rulebook is being probed (its missing parameter read as
    zeros) gets the check's error, never that Context."""
    text = (rules_copy / "parameters.yaml").read_text(encoding="utf-8")
    (rules_copy / "parameters.yaml").write_text(text.replace("coord_cap_dedicated", "coord_cap_dedicatd"),
                                                encoding="utf-8")
    rb = load(rules_copy)
    seen: list = []
    real = rulecheck.static_problems

    def other_thread_asks(ctx):
        if not seen:
            seen.append(None)

            def ask():
                try:
                    seen.append(engine.context(rb))
                except RulebookError as exc:
                    seen.append(exc)
            t = threading.Thread(target=ask)
            t.start()
            t.join()
        return real(ctx)
    monkeypatch.setattr(rulecheck, "static_problems", other_thread_asks)
    with pytest.raises(RulebookError, match="coord_cap_dedicated"):
        engine.context(rb)
    assert isinstance(seen[1], RulebookError), seen
    assert rb.sha256 not in engine._CONTEXTS
