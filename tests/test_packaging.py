"""Install paths of the README, as a new user runs them (issue 13): the sdist and wheel from
`python -m build`, the offline bundle for this machine installed with `--no-index` in a fresh venv,
and the Windows bundle's contents. Needs PyPI (hatchling and the dependencies' wheels); CI has it.

The fresh venvs have no system site-packages and pip runs `--isolated` (no pip.conf, no PIP_* variables),
so nothing from this machine's environment can stand in for a missing wheel.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

from tokkou import engine

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_CSV = ROOT / "workbook_templates" / "examples" / "sample_lines.csv"
SAMPLE_XLSX = ROOT / "workbook_templates" / "examples" / "nichiiki_kankei_sample.xlsx"
RULE_FILES = sorted(p.name for p in (ROOT / "rules" / "nichiiki_kankei").glob("*.yaml"))


def run(*args, cwd=None, env=None, timeout=900):
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout)
    assert r.returncode == 0, f"{args}\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
    return r


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = "/usr/bin:/bin"
    return env


def fresh_venv(folder: Path) -> Path:
    venv.EnvBuilder(with_pip=True, system_site_packages=False, clear=True).create(folder)
    return folder / "bin" / "python"


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """`python -m build`: the sdist, then the wheel built from that sdist (so the sdist is complete)."""
    out = tmp_path_factory.mktemp("dist")
    r = run(sys.executable, "-m", "build", "--outdir", out, ROOT)
    assert "tokkou-0.1.0.tar.gz" in r.stdout and "tokkou-0.1.0-py3-none-any.whl" in r.stdout
    return out


@pytest.fixture(scope="module")
def native_bundle(dist, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "tokkou_offline"
    wheel = next(dist.glob("tokkou-*.whl"))
    run(sys.executable, "-m", "tokkou.cli", "bundle", "-o", out, "--wheel", wheel)
    return out


def test_wheel_and_sdist_carry_the_rulebook_and_reference_data(dist):
    with zipfile.ZipFile(next(dist.glob("*.whl"))) as z:
        names = set(z.namelist())
    for f in RULE_FILES:
        assert f"tokkou/rules/nichiiki_kankei/{f}" in names
    assert "tokkou/data/local_government_codes.csv" in names
    assert not any(n.startswith(("tests/", "tokkou/lo.py")) for n in names)
    with tarfile.open(next(dist.glob("*.tar.gz"))) as t:
        members = {m.name.split("/", 1)[1] for m in t.getmembers() if "/" in m.name}
    assert {f"rules/nichiiki_kankei/{f}" for f in RULE_FILES} <= members
    assert "src/tokkou/data/local_government_codes.csv" in members and "pyproject.toml" in members


def _calc_outside_the_repository(python: Path, work: Path) -> None:
    """`tokkou calc` of the installed package on copies of the samples, in a folder outside the checkout."""
    work.mkdir()
    shutil.copy(SAMPLE_CSV, work / "明細.csv")
    shutil.copy(SAMPLE_XLSX, work / "様式.xlsx")
    tokkou = python.parent / "tokkou"
    where = run(python, "-c", "import tokkou, sys; print(tokkou.__file__)", cwd=work, env=clean_env()).stdout
    assert str(python.parent.parent) in where and str(ROOT) not in where  # the installed copy, not the checkout
    r = run(tokkou, "calc", "明細.csv", "--lang", "en", cwd=work, env=clean_env())
    out = work / "明細_算定結果.csv"
    assert out.exists() and str(out.name) in r.stdout
    got = pd.read_csv(out, dtype=str, encoding="utf-8-sig")
    want = engine.evaluate_frame(pd.read_csv(SAMPLE_CSV, dtype=str))
    assert list(got["measure_amount"].astype(int)) == list(want["measure_amount"].astype(int))
    run(tokkou, "calc", "様式.xlsx", "-o", "結果.xlsx", "--quiet", cwd=work, env=clean_env())
    assert (work / "結果.xlsx").stat().st_size > 0
    assert "OK" in run(tokkou, "rules", "check", cwd=work, env=clean_env()).stdout


def test_bundle_installs_offline_in_a_fresh_venv_and_calc_runs(native_bundle, tmp_path):
    wheels = native_bundle / "wheels"
    assert (native_bundle / "導入手順.txt").exists() and (native_bundle / "install.cmd").exists()
    python = fresh_venv(tmp_path / "venv")
    # what install.sh / install.cmd run: nothing but the bundle, network unused
    run(python, "-m", "pip", "--isolated", "install", "--no-index", "--find-links", wheels, "tokkou", env=clean_env())
    _calc_outside_the_repository(python, tmp_path / "work")
    # an installed tokkou has no source to build its own wheel from: it asks for one, in one line
    r = subprocess.run([python.parent / "tokkou", "bundle", "-o", tmp_path / "again"], capture_output=True,
                       text=True, env=clean_env())
    assert r.returncode == 2 and "--wheel" in r.stderr and "Traceback" not in r.stderr


def test_sdist_installs_in_a_fresh_venv(dist, native_bundle, tmp_path):
    """The sdist builds and installs (build backend from PyPI, dependencies from the bundle) and runs."""
    backend = tmp_path / "backend"
    run(sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:", "--dest", backend, "hatchling")
    python = fresh_venv(tmp_path / "venv")
    run(python, "-m", "pip", "--isolated", "install", "--no-index", "--find-links", native_bundle / "wheels",
        "--find-links", backend, next(dist.glob("*.tar.gz")), env=clean_env())
    _calc_outside_the_repository(python, tmp_path / "work")


def _windows_compatible(wheel: str, python: str = "312") -> bool:
    _, _, _, tags = parse_wheel_filename(wheel)
    return any(t.platform in ("win_amd64", "any") and t.interpreter in (f"cp{python}", "py3", f"py{python}")
               and t.abi in (f"cp{python}", "abi3", "none") for t in tags)


def test_windows_bundle_has_a_wheel_for_every_dependency(tmp_path):
    out = tmp_path / "win"
    r = run(sys.executable, "-m", "tokkou.cli", "bundle", "-o", out, "--platform", "win_amd64", "--python", "3.12")
    assert "win_amd64" in r.stdout
    wheels = sorted(p.name for p in (out / "wheels").glob("*.whl"))
    assert all(_windows_compatible(w) for w in wheels), [w for w in wheels if not _windows_compatible(w)]
    have = {canonicalize_name(parse_wheel_filename(w)[0]) for w in wheels}
    windows = {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt", "platform_machine": "AMD64",
               "python_version": "3.12", "python_full_version": "3.12.0", "implementation_name": "cpython",
               "platform_python_implementation": "CPython", "extra": ""}
    needed = set()
    for w in (out / "wheels").glob("*.whl"):
        with zipfile.ZipFile(w) as z:
            meta = z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))).decode()
        for line in meta.splitlines():
            if line.startswith("Requires-Dist:"):
                req = Requirement(line.split(":", 1)[1].strip())
                if req.marker is None or req.marker.evaluate(windows):
                    needed.add(canonicalize_name(req.name))
    assert needed <= have, needed - have
    assert {"tokkou", "xlwings", "pywin32", "pandas", "numpy", "tzdata"} <= have  # Windows-only needs included
    cmd = (out / "install.cmd").read_bytes()
    text = cmd.decode("cp932")  # cmd.exe on Japanese Windows reads batch files as cp932
    assert b"\r\n" in cmd and "--no-index --find-links" in text and "py -3.12" in text
    guide = (out / "導入手順.txt").read_bytes().decode("utf-8-sig")
    assert "Python 3.12" in guide and "tokkou excel setup" in guide
    assert Marker('sys_platform == "win32"').evaluate(windows)


def test_bundle_refuses_a_folder_in_use(tmp_path):
    (tmp_path / "mine.txt").write_text("x")
    r = subprocess.run([sys.executable, "-m", "tokkou.cli", "bundle", "-o", tmp_path], capture_output=True, text=True)
    assert r.returncode == 2 and "空でないフォルダ" in r.stderr and "Traceback" not in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("```bash\n", 1)[1].split("```", 1)[0]
    return [ln for ln in block.splitlines() if ln.strip()]


def test_readme_starts_with_the_two_set_up_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    head = text.split("```bash", 1)[0]
    assert head.count("\n") <= 2 and head.startswith("# tokkou")  # the title, then the commands
    first, second = readme_commands()
    assert first.startswith("pip install") and "tokkou calc workbook_templates/examples/" in first
    assert second == 'pip install -e ".[test]" && python -m pytest'
    assert '-e ".[test]"' in (ROOT / ".ci" / "run").read_text()  # CI installs what the second command does


def test_readme_first_command_as_written_on_a_fresh_clone(tmp_path):
    """The first README command, verbatim, in a fresh clone with a new venv: it installs, computes the
    sample, prints the totals and the path, and leaves the clone clean (its output is git-ignored)."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    clone = tmp_path / "clone"
    run("git", "clone", "-q", ROOT, clone)
    python = fresh_venv(tmp_path / "venv")
    env = clean_env()
    env["PATH"] = f"{python.parent}:/usr/bin:/bin"
    env["VIRTUAL_ENV"] = str(python.parent.parent)
    env.update({k: v for k, v in os.environ.items() if k.startswith("PIP_")})  # this machine's pip set-up, as a user has it
    r = run("bash", "-c", readme_commands()[0], cwd=clone, env=env)
    out = clone / "workbook_templates" / "examples" / "nichiiki_kankei_sample_算定結果.xlsx"
    assert out.exists() and out.name in r.stdout and "15,490,000" in r.stdout
    assert run("git", "status", "--porcelain", cwd=clone).stdout == ""
