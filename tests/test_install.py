"""A normal install serves: a built wheel, in a fresh venv, runs ``lagesbild up`` from a folder
that is not the repository (issue 10, item 6).

An editable install finds everything through the repository, so only a wheel shows what the
package really carries (migrations, catalogue, the demo area layer, ``pygeoapi-config.yml``,
the ``processes`` package). How the test gets there, cheaply and without hiding the repository:

1. It copies the source tree (without ``.git``, ``.venv``, tests and build leftovers) to a
   temporary folder and builds the wheel there with the running venv's pip, the way
   ``pip install .`` would. Building in the repository itself would leave ``build/lib``
   behind, and setuptools does not clean it: a module deleted from the source would stay in
   every later wheel and this test would not notice.
2. It creates a fresh venv without pip and installs the wheel into it, without dependencies,
   with the running venv's pip (``pip --python``).
3. The dependencies (pygeoapi, geopandas, ...) are not installed again, which would download
   about a gigabyte: a ``.pth`` file in the fresh venv adds the running venv's site-packages
   to ``sys.path``, after the fresh venv's own. Only directories are added this way; the
   ``.pth`` files inside that folder are not processed, so the editable install's finder of
   ``lagesbild_geo`` stays inert, and the test checks that ``lagesbild_geo`` and
   ``processes`` are imported from the fresh venv.
4. ``lagesbild`` of the fresh venv runs with an empty folder as its working directory,
   ``PYTHONPATH`` removed, and its own data folder and ports.

About a minute on the 2-core machine (``lagesbild up`` loads and analyses the whole demo).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest
import requests

from tests.servers import free_port

REPO = Path(__file__).resolve().parents[1]
STARTUP_S = 300
LEFT_OUT = shutil.ignore_patterns(
    ".git", ".venv", "var", "build", "*.egg-info", "__pycache__", ".*_cache", "tests", "bench"
)


def _run(cmd: list, **kwargs) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{cmd} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The ``bin`` folder of a fresh venv with the repository's wheel installed."""
    root = tmp_path_factory.mktemp("install")
    source = root / "source"
    shutil.copytree(REPO, source, symlinks=True, ignore=LEFT_OUT)
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            root / "wheels",
            source,
        ]
    )
    (wheel,) = (root / "wheels").glob("lagesbild_geo-*.whl")

    venv = root / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    purelib = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    dependencies = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(purelib.stdout.strip(), "dependencies.pth").write_text("\n".join(dependencies) + "\n")
    _run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", wheel])
    return venv / "bin"


def test_a_built_wheel_serves_the_demo_from_another_folder(installed, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAGESBILD_", "PYTHON"))}
    env |= {
        "LAGESBILD_DATA_DIR": str(tmp_path / "var"),
        "LAGESBILD_PG_PORT": str(free_port()),
        "LAGESBILD_PORT": str(port),
        "LAGESBILD_WORKERS": "1",
    }

    where = _run(
        [
            installed / "python",
            "-c",
            "import lagesbild_geo, processes; from lagesbild_geo.demo.areas import DEFAULT_PATH;"
            "print(lagesbild_geo.__file__, processes.__file__, DEFAULT_PATH)",
        ],
        cwd=elsewhere,
        env=env,
    ).stdout.split()
    venv = installed.parent
    assert all(Path(p).is_relative_to(venv) for p in where), where
    assert Path(where[2]).is_file(), "the wheel lacks the demo area layer"

    lagesbild = installed / "lagesbild"
    log_path = tmp_path / "up.log"
    try:
        with log_path.open("w") as log:
            proc = subprocess.Popen(
                [str(lagesbild), "up"],
                cwd=elsewhere,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                url = f"http://127.0.0.1:{port}"
                _wait_for(url + "/", proc, log_path)
                collections = requests.get(url + "/collections?f=json", timeout=30).json()
                ids = {c["id"] for c in collections["collections"]}
                assert {"observations", "areas", "hotspots", "trends"} <= ids, ids
                items = requests.get(
                    url + "/collections/observations/items?f=json&limit=5", timeout=60
                )
                assert items.status_code == 200, items.text
                assert len(items.json()["features"]) == 5
            finally:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        log = log_path.read_text()
        assert "Demo loaded" in log and "Analysed" in log, log
    finally:
        subprocess.run([str(lagesbild), "db", "down"], cwd=elsewhere, env=env, check=False)


def _wait_for(url: str, proc: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_S
    while True:
        try:
            if requests.get(url, timeout=10).status_code == 200:
                return
        except requests.RequestException:  # not listening yet: the demo is still loading
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail("lagesbild up did not serve:\n" + log_path.read_text())
        time.sleep(0.5)
