import os
import sys
from pathlib import Path

# xlwings' Office.js custom-function path (xlwings Lite / Server) must be chosen before anything
# imports xlwings: `xw.func` is decided at import time. Test-only licence key (SPEC §5).
os.environ["XLWINGS_ON_SERVER"] = "true"
os.environ["XLWINGS_LICENSE_KEY"] = "noncommercial"

sys.path.insert(0, str(Path(__file__).parent))


import pytest  # noqa: E402


@pytest.fixture
def rules_copy(tmp_path):
    """A temporary copy of the shipped rulebook folder, to edit in a test."""
    import shutil

    from tokkou import rulebook
    dst = tmp_path / "rules"
    shutil.copytree(rulebook.default_rules_dir(), dst)
    return dst
