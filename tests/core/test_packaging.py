"""The bundled chapters and the compiled message catalogs are found from a wheel too, not
only from the source tree (setup.py compiles the .po files while the wheel is built)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_carries_the_chapters_and_lists_them(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "-w", str(wheels), str(ROOT)], check=True,
                   cwd=tmp_path, capture_output=True)
    wheel = next(wheels.glob("labguide-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "labguide/chapters/l4lb-ha.md" in names
    assert {"labguide/chapters/more-web.md", "labguide/chapters/more-web.ja.md",
            "labguide/chapters/more-web.lab.toml"} <= set(names)
    assert "labguide/locale/ja/LC_MESSAGES/labguide.mo" in names
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(target), str(wheel)], check=True, capture_output=True)
    env = {**os.environ, "PYTHONPATH": str(target)}
    where = subprocess.run([sys.executable, "-c", "import labguide; print(labguide.__file__)"],
                           env=env, cwd=tmp_path, capture_output=True, text=True, check=True)
    assert where.stdout.startswith(str(target)), where.stdout
    res = subprocess.run([sys.executable, "-m", "labguide", "list"], env=env, cwd=tmp_path,
                         capture_output=True, text=True)
    assert res.returncode == 0 and "l4lb-ha" in res.stdout, res.stderr
    assert "more-web" in res.stdout and "languages: en, ja" in res.stdout.splitlines()[1]
    ja = subprocess.run([sys.executable, "-m", "labguide", "--help"], cwd=tmp_path,
                        env={**env, "LANG": "ja_JP.UTF-8", "PYTHONIOENCODING": "utf-8"},
                        capture_output=True, text=True, encoding="utf-8")
    assert "使い方:" in ja.stdout, ja.stdout + ja.stderr


def test_every_package_is_listed_in_pyproject() -> None:
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"])
    found = {str(p.parent.relative_to(ROOT)).replace("/", ".")
             for p in (ROOT / "labguide").rglob("__init__.py")}
    assert found | {"labguide.chapters"} == listed
