"""The pool on Ray Serve under a fault: 20 .misc files decode through 2 CPU replicas of the tiny
model with `misc decode --jobs 2`; one replica process is killed mid-batch. Every output must be
written whole and byte-identical to a single worker's decode, and the run reports its retries.

Needs the misc CLI (MISC_BINARY; `make test` sets it after the Swift build) and ray[serve]."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from conftest import WORKER_ROOT, Worker, sample_image

MISC = os.environ.get("MISC_BINARY")
REPO = WORKER_ROOT.parent
FILES = 20
# A short schedule keeps the batch within CI's time; the passes are the same kind as the paper's,
# and long enough (about a second each on the tiny model) that the kill lands on one in flight.
SCHEDULE = ["--item-steps", "2", "--final-steps", "30"]
ENGINE = ["--threads", "1", "--work-size", "0", "--max-pixels", "100000"]

pytestmark = pytest.mark.skipif(not MISC or not Path(MISC).is_file(),
                                reason="set MISC_BINARY to the misc CLI (make test does) to run the pool fault test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def decode(inputs: list[Path], out: Path, url: str) -> subprocess.CompletedProcess:
    return subprocess.run([MISC, "decode", *map(str, inputs), "--out-dir", str(out), "--restorer", url,
                           "--jobs", "2", *SCHEDULE], capture_output=True, text=True, timeout=600)


class Pool:
    """`python -m misc_worker.serve` with its replicas, on 127.0.0.1."""

    def __init__(self, args: list[str]):
        self.port = free_port()
        env = dict(os.environ, PYTHONPATH=str(WORKER_ROOT), PYTHONUNBUFFERED="1", RAY_USAGE_STATS_ENABLED="0")
        self.process = subprocess.Popen([sys.executable, "-m", "misc_worker.serve", "--port", str(self.port), *args],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                                        start_new_session=True)
        self.log: list[str] = []
        started = threading.Event()

        def read():
            for line in self.process.stdout:
                self.log.append(line)
                if "listening on http://" in line:
                    started.set()

        threading.Thread(target=read, daemon=True).start()
        assert started.wait(300), "the pool did not start:\n" + "".join(self.log[-40:])
        self.url = f"http://127.0.0.1:{self.port}"

    def health(self) -> dict:
        with urllib.request.urlopen(self.url + "/v1/health", timeout=30) as r:
            return json.loads(r.read())

    def replica_pids(self, count: int) -> set[int]:
        pids: set[int] = set()
        deadline = time.monotonic() + 60
        while len(pids) < count and time.monotonic() < deadline:
            pids.add(self.health()["pid"])
        return pids

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@pytest.fixture(scope="module")
def misc_files(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("pool-batch")
    images = []
    for index in range(FILES):
        path = folder / f"image{index:02d}.png"
        Image.fromarray(sample_image(64, 48, seed=index)).save(path)
        images.append(path)
    subprocess.run([MISC, "encode", *map(str, images), "--semantics", str(REPO / "examples" / "astronaut.json"),
                    "--bpp", "0.3", "--out-dir", str(folder), "-q"], check=True, timeout=300)
    files = sorted(folder.glob("*.misc"))
    assert len(files) == FILES
    return files


def test_a_replica_killed_mid_batch_costs_retries_not_outputs(tiny_model, misc_files, tmp_path):
    model, controlnet = tiny_model
    engine = ["--model", str(model), "--controlnet", str(controlnet), *ENGINE]

    single = Worker(engine)
    try:
        reference = decode(misc_files, tmp_path / "single", single.url)
    finally:
        single.stop()
    assert reference.returncode == 0, reference.stderr[-3000:]

    pool = Pool(["--replicas", "2", *engine])
    try:
        pids = pool.replica_pids(2)
        assert len(pids) == 2, pids
        out = tmp_path / "pool"
        killed: list[tuple[int, int]] = []

        def cpu_ticks(pid: int) -> int:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            return int(fields[11]) + int(fields[12])  # utime + stime

        def kill_mid_batch():
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                done = len(list(out.glob("*.png"))) if out.exists() else 0
                if done >= 3:
                    # The replica that is running a pass now (the one burning CPU), so that the
                    # kill lands on a request in flight.
                    before = {pid: cpu_ticks(pid) for pid in pids}
                    time.sleep(0.3)
                    victim = max(pids, key=lambda pid: cpu_ticks(pid) - before[pid])
                    os.kill(victim, signal.SIGKILL)
                    killed.append((victim, done))
                    return
                time.sleep(0.05)

        killer = threading.Thread(target=kill_mid_batch, daemon=True)
        killer.start()
        started = time.monotonic()
        run = decode(misc_files, out, pool.url)
        seconds = time.monotonic() - started
        killer.join(5)
        assert run.returncode == 0, run.stderr[-3000:]
        assert killed and killed[0][1] < FILES, f"the replica was not killed mid-batch: {killed}"
        retries = re.search(r"restorer: (\d+) retr", run.stderr)
        count = int(retries.group(1)) if retries else 0
        outputs = sorted(out.glob("*.png"))
        assert len(outputs) == FILES
        assert not list(out.glob(".*")), "a temporary (partial) output was left"
        for output in outputs:
            expected = (tmp_path / "single" / output.name).read_bytes()
            assert output.read_bytes() == expected, f"{output.name} differs from the single worker's decode"
            Image.open(output).load()  # whole PNGs
        print(f"\npool fault test: {FILES} files, replica {killed[0][0]} killed after {killed[0][1]} outputs; "
              f"{count} retries; all {FILES} outputs byte-identical to one worker's; {seconds:.1f} s")
        assert count >= 1, "the kill cost no retry: nothing was in flight on the killed replica?\n" + run.stderr[-3000:]
    finally:
        pool.stop()
