"""The audit on a real Spark standalone cluster: a master and two workers started here on
localhost through Spark's own launch script (`sbin/spark-daemon.sh`, shipped with PySpark),
and the README's `spark-submit` recipe run against it as written."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_audit_agreement import log, write

ROOT = Path(__file__).resolve().parent.parent
#: the launch script's classes, as `start-master.sh` and `start-worker.sh` name them
MASTER = "org.apache.spark.deploy.master.Master"
WORKER = "org.apache.spark.deploy.worker.Worker"


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} and CI=true: the Spark cluster must be tested")
    pytest.skip(reason)


def _spark_home() -> Path:
    try:
        import pyspark
    except ImportError:
        _missing("PySpark is not installed")
    home = Path(pyspark.__file__).parent
    if shutil.which("java") is None:
        _missing("no java for Spark")
    if not (home / "sbin" / "spark-daemon.sh").is_file():
        _missing(f"{home} has no sbin/spark-daemon.sh to start a cluster with")
    return home


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait(done: object, what: str, logs: Path, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(done) and done():
            return
        time.sleep(0.5)
    tails = "\n".join(p.read_text(errors="replace")[-2000:] for p in logs.glob("*.out"))
    pytest.fail(f"the Spark cluster did not come up ({what}) in {seconds:.0f} s:\n{tails}")


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[str, dict[str, str]]]:
    """The master's URL and the environment to submit with."""
    home = _spark_home()
    # a folder of its own: the daemons write there until they are stopped
    base = Path(tempfile.mkdtemp(prefix="statemachine-spark-cluster-"))
    # what a cluster's own configuration would say: executors that fit the small workers
    conf = base / "conf"
    conf.mkdir()
    (conf / "spark-defaults.conf").write_text(
        "spark.executor.memory 512m\nspark.driver.memory 512m\nspark.ui.enabled false\n"
        "spark.ui.showConsoleProgress false\n",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "SPARK_CONF_DIR": str(conf),
        "SPARK_HOME": str(home),
        "SPARK_LOG_DIR": str(base / "logs"),
        "SPARK_PID_DIR": str(base / "pids"),
        "SPARK_WORKER_DIR": str(base / "work"),
        "SPARK_IDENT_STRING": f"statemachine-test-{os.getpid()}",
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_MASTER_HOST": "127.0.0.1",
        "SPARK_DAEMON_MEMORY": "256m",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env.pop("SPARK_NO_DAEMONIZE", None)  # set, even empty, it keeps the script in front
    daemon = [str(home / "sbin" / "spark-daemon.sh")]
    port = _free_port()
    master = f"spark://127.0.0.1:{port}"
    started: list[list[str]] = []

    def start(cls: str, instance: int, *args: str) -> None:
        subprocess.run(
            ["bash", *daemon, "start", cls, str(instance), *args],
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
        started.append(["bash", *daemon, "stop", cls, str(instance)])

    logs = base / "logs"
    try:
        start(MASTER, 1, "--host", "127.0.0.1", "--port", str(port), "--webui-port", "0")

        def listening() -> bool:
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", port)) == 0

        _wait(listening, "master", logs)
        for n in (1, 2):
            start(WORKER, n, "--host", "127.0.0.1", "--webui-port", "0", "--cores", "1",
                  "--memory", "768m", master)  # fmt: skip

        def registered() -> bool:
            text = "".join(p.read_text(errors="replace") for p in logs.glob("*Master*.out"))
            return len(re.findall(r"Registering worker", text)) >= 2

        _wait(registered, "two workers", logs)
        yield master, env
    finally:
        for command in reversed(started):
            subprocess.run(command, env=env, capture_output=True, timeout=120, check=False)
        shutil.rmtree(base, ignore_errors=True)


def _recipe() -> str:
    """The README's spark-submit recipe, as written."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"On a cluster, `spark-submit`.*?```sh\n(.*?)```", text, re.S)
    assert found, "README.md has no spark-submit recipe"
    return found.group(1)


def test_the_readme_recipe_audits_on_a_standalone_cluster(
    cluster: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    """Kaleyra calls, whose perturbed histories put many entities in doubt: the executors fold
    them; the report is the Python reference's."""
    from statemachine.audit import audit
    from statemachine.runtime import definition

    master, env = cluster
    d = definition("kaleyra.call")
    data = write(tmp_path / "calls.csv", log(11, d, 60))
    recipe = _recipe()
    assert "$MASTER" in recipe and "$DATA" in recipe, recipe
    done = subprocess.run(
        ["bash", "-euc", recipe.replace("dialnexa.call", d.name)],
        env={**env, "MASTER": master, "DATA": str(data)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr[-4000:]
    report = json.loads((tmp_path / "audit.json").read_text(encoding="utf-8"))
    assert report == audit(d, [str(data)], engine="python").as_json()
    # the job ran on the cluster: both workers started executors for it
    executors = {p.parent.name for p in Path(env["SPARK_WORKER_DIR"]).glob("app-*/*/stderr")}
    assert len(executors) >= 2, "the application got no executors on the two workers"
