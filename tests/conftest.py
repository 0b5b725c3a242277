import os
import sys
from pathlib import Path

# xlwings' Office.js custom-function path (xlwings Lite / Server) must be chosen before anything
# imports xlwings: `xw.func` is decided at import time. Test-only licence key (SPEC §5).
os.environ["XLWINGS_ON_SERVER"] = "true"
os.environ["XLWINGS_LICENSE_KEY"] = "noncommercial"

sys.path.insert(0, str(Path(__file__).parent))
