"""Column helpers for the table layer: per-distinct-value work instead of a Python call per cell."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd


def map_distinct(values: pd.Series, fn: Callable[[Any], Any]) -> pd.Series:
    """`values.map(fn)` (same values, same index, object dtype), calling fn once per distinct value.

    Only a column of text alone is factorised (there equal means the same value); otherwise a value
    is reused only for the same type and value, so 1, 1.0 and True stay apart as with `map`."""
    arr = values.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(arr, skipna=False) == "string":
        codes, uniques = pd.factorize(arr)
        table = np.empty(len(uniques), dtype=object)
        table[:] = [fn(u) for u in uniques]
        out = table[codes] if len(arr) else np.empty(0, dtype=object)
    else:
        out = np.empty(len(arr), dtype=object)
        seen: dict = {}
        for i, v in enumerate(arr):
            try:
                key = (type(v), v)
                hit = seen[key] if key in seen else seen.setdefault(key, fn(v))
            except TypeError:  # unhashable: computed on its own
                hit = fn(v)
            out[i] = hit
    return pd.Series(out, index=values.index, dtype=object, name=values.name)
