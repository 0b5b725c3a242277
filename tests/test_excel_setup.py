"""Install paths: classic xlwings (`tokkou excel setup`), xlwings Lite (`tokkou lite export`)."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from officejs import call, meta, udfs
from tokkou import excel

ROOT = Path(__file__).resolve().parents[1]


def tokkou(*args, home=None):
    env = dict(os.environ)
    if home is not None:
        env["HOME"] = str(home)
        env["USERPROFILE"] = str(home)
    return subprocess.run([sys.executable, "-m", "tokkou.cli", *map(str, args)], capture_output=True,
                          text=True, env=env)


def read_conf(path: Path) -> dict[str, str]:
    """Parsed like xlwings.utils.read_user_config does (keys lower-case)."""
    import re
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        values = re.findall(r'"[^"]*"', line)
        if values:
            out[values[0].strip('"').lower()] = values[1].strip('"')
    return out


def test_excel_setup_creates_the_user_config(tmp_path):
    r = tokkou("excel", "setup", home=tmp_path)
    assert r.returncode == 0, r.stderr
    conf = tmp_path / ".xlwings" / "xlwings.conf"
    assert read_conf(conf) == {"udf modules": "tokkou.udfs"}
    assert "Import Functions" in r.stdout and "Traceback" not in r.stderr


def test_excel_setup_keeps_existing_entries(tmp_path):
    conf = tmp_path / ".xlwings" / "xlwings.conf"
    conf.parent.mkdir()
    before = ('"INTERPRETER_WIN","C:\\Users\\山田\\python.exe"\r\n'
              '"UDF Modules","my_funcs;other"\r\n'
              '"LICENSE_KEY","noncommercial"')  # no final newline, CRLF, non-ASCII path
    conf.write_bytes(before.encode("utf-8"))
    assert tokkou("excel", "setup", home=tmp_path).returncode == 0
    after = conf.read_bytes().decode("utf-8")
    assert after.splitlines() == ['"INTERPRETER_WIN","C:\\Users\\山田\\python.exe"',
                                  '"UDF Modules","my_funcs;other;tokkou.udfs"',
                                  '"LICENSE_KEY","noncommercial"']
    assert "\r\n" in after
    # running it again changes nothing
    assert tokkou("excel", "setup", home=tmp_path).returncode == 0
    assert conf.read_bytes().decode("utf-8") == after


def test_excel_setup_appends_after_other_settings(tmp_path):
    conf = tmp_path / "xlwings.conf"
    conf.write_text('"INTERPRETER_WIN","python"\n', encoding="utf-8")
    r = tokkou("excel", "setup", "--conf", conf)
    assert r.returncode == 0
    assert read_conf(conf) == {"interpreter_win": "python", "udf modules": "tokkou.udfs"}
    assert conf.read_text(encoding="utf-8").count("\n") == 2


def test_excel_setup_reports_an_unwritable_place_in_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = tokkou("excel", "setup", "--conf", blocker / "sub" / "xlwings.conf")
    assert r.returncode == 2
    assert r.stderr.startswith("エラー:") and "Traceback" not in r.stderr


def test_classic_configuration_names_a_module_that_registers_every_function():
    # Classic xlwings imports the `UDF Modules` entry and registers each function with __xlfunc__.
    assert excel.UDF_MODULE == udfs.__name__
    registered = {n for n in dir(udfs) if hasattr(getattr(udfs, n), "__xlfunc__")}
    assert {"ELIGIBLE_AMOUNT", "COORD_CAP", "EVALUATE_TABLE", "FISCAL_INDEX"} <= registered
    for name in registered:
        for a in getattr(udfs, name).__xlfunc__["args"]:
            assert a["options"].get("convert") == "raw"  # error cells reach the function, cleaned by udfs


def test_lite_export_writes_files_that_register_the_functions(tmp_path):
    out = tmp_path / "lite"
    url = "https://example.org/wheels/tokkou-0.1.0-py3-none-any.whl"
    r = tokkou("lite", "export", out, "--package", url)
    assert r.returncode == 0, r.stderr
    req = (out / "requirements.txt").read_text(encoding="utf-8")
    pkgs = [ln.strip() for ln in req.splitlines() if ln.strip() and not ln.startswith("#")]
    assert pkgs == ["xlwings", url]  # never `tokkou==0.1.0`: tokkou is on no package index
    # Load main.py as xlwings Lite does and call through it with the Office.js payload.
    spec = importlib.util.spec_from_file_location("lite_main", out / "main.py")
    main = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(main)
    assert {f["id"] for f in meta(main)["functions"]} == {f["id"] for f in meta(udfs)["functions"]}
    assert call("COORD_CAP", "専任", module=main) == call("COORD_CAP", "専任")
    assert "措置額" in {f["name"] for f in meta(main)["functions"]}


def test_lite_export_never_overwrites_without_force(tmp_path):
    out = tmp_path / "lite"
    out.mkdir()
    (out / "main.py").write_text("# my own code\n", encoding="utf-8")
    r = tokkou("lite", "export", out, "--package", "https://example.org/tokkou-0.1.0-py3-none-any.whl")
    assert r.returncode == 2 and "上書きしません" in r.stderr
    assert (out / "main.py").read_text(encoding="utf-8") == "# my own code\n"
    assert tokkou("lite", "export", out, "--force", "--package", "https://example.org/tokkou-0.1.0-py3-none-any.whl").returncode == 0
    assert "https://example.org/tokkou-0.1.0-py3-none-any.whl" in (out / "requirements.txt").read_text(encoding="utf-8")


def test_lite_export_needs_the_wheel_and_copies_a_local_one(tmp_path):
    r = tokkou("lite", "export", tmp_path / "a")
    assert r.returncode == 2 and "--package" in r.stderr and "エラー" in r.stderr
    r = tokkou("lite", "export", tmp_path / "b", "--package", tmp_path / "missing.whl")
    assert r.returncode == 2 and "wheel" in r.stderr and not (tmp_path / "b").exists()
    wheel = tmp_path / "tokkou-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"PK wheel bytes")
    assert tokkou("lite", "export", tmp_path / "c", "--package", wheel).returncode == 0
    assert (tmp_path / "c" / wheel.name).read_bytes() == b"PK wheel bytes"
    req = (tmp_path / "c" / "requirements.txt").read_text(encoding="utf-8")
    assert req.rstrip().endswith(wheel.name) and "URL に書き換えて" in req
