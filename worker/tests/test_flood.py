"""The bounded queue under a flood: 100 concurrent requests on the tiny model.

Every request gets an answer (a result or a 503 with Retry-After), no other 5xx, the worker's peak
resident memory stays under FLOOD_RSS_BOUND, and it serves normally afterwards."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import Worker, request_fields

FLOOD = 100
MAX_QUEUE = 8
# docs/WORKER.md: the tiny model's worker peaks at about 800 MiB resident while it loads (torch,
# diffusers), and the flood added nothing to that peak. The bounds leave room for other builds.
FLOOD_RSS_BOUND = 3 << 29  # 1.5 GiB in all
FLOOD_RSS_GROWTH = 256 << 20  # at most this much above the peak before the flood


def peak_rss(pid: int) -> int:
    """The process's peak resident set (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/PID/status")


@pytest.fixture(scope="module")
def queued_worker(tiny_model):
    model, controlnet = tiny_model
    worker = Worker(["--model", str(model), "--controlnet", str(controlnet), "--max-pixels", "8192", "--threads", "1",
                     "--work-size", "0", "--max-queue", str(MAX_QUEUE)])
    yield worker
    worker.stop()


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads peak RSS from /proc")
def test_a_flood_gets_results_or_503s_in_bounded_memory_then_normal_service(queued_worker):
    body = json.dumps(request_fields(seed=5)).encode()
    reference = queued_worker.request("POST", "/v1/restore", body)
    assert reference.status == 200
    idle_rss = peak_rss(queued_worker.process.pid)

    def one(_):
        try:
            return queued_worker.request("POST", "/v1/restore", body, timeout=120)
        except Exception as error:  # no answer at all: the test fails below
            return error

    started = time.monotonic()
    with ThreadPoolExecutor(FLOOD) as pool:
        answers = list(pool.map(one, range(FLOOD)))
    seconds = time.monotonic() - started
    failures = [a for a in answers if isinstance(a, Exception)]
    assert not failures, f"{len(failures)} requests got no answer: {failures[:3]}"
    statuses = [a.status for a in answers]
    results = [a for a in answers if a.status == 200]
    busy = [a for a in answers if a.status == 503]
    assert len(results) + len(busy) == FLOOD, sorted(set(statuses))
    assert len(results) >= MAX_QUEUE + 1 and busy, statuses
    assert all(a.body == reference.body for a in results), "a queued pass gave other bytes"
    for answer in busy:
        assert 1 <= int(answer.headers["retry-after"]) <= 120
        assert answer.json()["error"]["type"] == "busy"
    peak = peak_rss(queued_worker.process.pid)
    print(f"\nflood: {FLOOD} requests in {seconds:.1f} s: {len(results)} results, {len(busy)} 503s; "
          f"peak RSS {peak / 2**20:.0f} MiB (idle {idle_rss / 2**20:.0f} MiB)")
    assert peak < FLOOD_RSS_BOUND and peak - idle_rss < FLOOD_RSS_GROWTH

    # The load is gone: the queue is empty and passes run as before.
    health = queued_worker.request("GET", "/v1/health").json()
    assert health["queue"]["waiting"] == 0 and health["queue"]["max"] == MAX_QUEUE
    assert health["queue"]["busy_answers"] == len(busy)
    after = queued_worker.request("POST", "/v1/restore", body)
    assert after.status == 200 and after.body == reference.body
    assert queued_worker.process.poll() is None


def test_queue_zero_serves_one_at_a_time(tiny_model):
    model, controlnet = tiny_model
    worker = Worker(["--model", str(model), "--controlnet", str(controlnet), "--max-pixels", "8192", "--threads", "1",
                     "--work-size", "0", "--max-queue", "0"])
    try:
        body = json.dumps(request_fields(steps=8)).encode()
        with ThreadPoolExecutor(6) as pool:
            statuses = sorted(a.status for a in pool.map(lambda _: worker.request("POST", "/v1/restore", body), range(6)))
        assert statuses[0] == 200 and statuses[-1] == 503 and set(statuses) == {200, 503}
    finally:
        worker.stop()
