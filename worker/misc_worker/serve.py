"""python -m misc_worker.serve --replicas N --model DIR [...] [--host H] [--port N] [--address ADDR]

The worker as a Ray Serve deployment: N replicas of the same engine behind Ray's HTTP proxy,
speaking the same protocol (docs/RESTORER-PROTOCOL.md) with the same handlers (`WorkerFront`).
Each replica loads its own engine; on GPUs each holds one (`--gpus-per-replica 1`, the
default with `--device cuda`). Without `--address` a local Ray instance starts on 127.0.0.1;
`--address auto` (or ray://HEAD:10001) joins a running cluster instead. docs/WORKER.md, section 6."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

from ray import serve  # noqa: E402


@serve.deployment(name="misc-worker", health_check_period_s=2, health_check_timeout_s=30,
                  graceful_shutdown_timeout_s=5)
class Replica:
    """One engine behind the pool: the worker's own front (validation, bounded queue, 503s)."""

    def __init__(self, argv: list[str]):
        from .__main__ import check_arguments, engine_arguments, load_engine
        from .server import WorkerFront

        parser = argparse.ArgumentParser(prog="misc_worker.serve replica")
        engine_arguments(parser)
        args = parser.parse_args(argv)
        check_arguments(parser, args)
        self.front = WorkerFront(load_engine(args), max_pixels=args.max_pixels, max_queue=args.max_queue)

    async def __call__(self, request):
        path = request.url.path.rstrip("/") or "/"
        if path == "/v1/health" and request.method == "GET":
            return await self.front.health(request)
        if path == "/v1/restore" and request.method == "POST":
            return await self.front.restore(request)
        return await self.front.not_found(request)


def main(argv: list[str] | None = None) -> int:
    from .__main__ import check_arguments, engine_arguments

    parser = argparse.ArgumentParser(
        prog="python -m misc_worker.serve",
        description="MISC's diffusion worker as a pool of replicas on Ray Serve (the same protocol).")
    engine_arguments(parser)
    parser.add_argument("--replicas", type=int, default=1, help="engines in the pool (one per GPU on a GPU box)")
    parser.add_argument("--gpus-per-replica", type=float,
                        help="GPUs Ray gives each replica (default 1 with --device cuda, else 0)")
    parser.add_argument("--cpus-per-replica", type=float, default=1, help="CPUs Ray reserves for each replica (default 1)")
    parser.add_argument("--address", help="a running Ray cluster (auto, or ray://HEAD:10001); default: a local one")
    parser.add_argument("--host", default="127.0.0.1", help="where Ray's HTTP proxy listens (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=7860, help="the proxy's port (default 7860)")
    args, _ = parser.parse_known_args(argv)
    check_arguments(parser, args)
    if args.replicas < 1:
        parser.error("--replicas must be at least 1")
    replica_argv = [a for a in (argv if argv is not None else sys.argv[1:])]
    # The replica's flags: everything but the pool's own.
    pool_flags = {"--replicas", "--gpus-per-replica", "--cpus-per-replica", "--address", "--host", "--port"}
    engine_argv: list[str] = []
    skip = False
    for item in replica_argv:
        if skip:
            skip = False
            continue
        name = item.split("=", 1)[0]
        if name in pool_flags:
            skip = "=" not in item
            continue
        engine_argv.append(item)
    gpus = args.gpus_per_replica if args.gpus_per_replica is not None else (1 if args.device.startswith("cuda") else 0)

    import ray

    if args.address:
        ray.init(address=args.address, log_to_driver=False)
    else:
        ray.init(num_cpus=max(os.cpu_count() or 1, int(args.replicas * args.cpus_per_replica + 0.999)),
                 include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    serve.start(http_options={"host": args.host, "port": args.port}, detached=False)
    deployment = Replica.options(
        num_replicas=args.replicas,
        # The replica's own queue answers 503 + Retry-After past --max-queue; Ray sends it no more.
        max_ongoing_requests=args.max_queue + 2,
        ray_actor_options={"num_cpus": args.cpus_per_replica, "num_gpus": gpus})
    serve.run(deployment.bind(engine_argv), name="misc", route_prefix="/", blocking=False)
    print(f"misc_worker.serve: {args.replicas} replica(s) ({args.device}, {args.dtype}, queue {args.max_queue} each) "
          f"listening on http://{args.host}:{args.port}", flush=True)

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    while not stop:
        time.sleep(0.2)
    serve.shutdown()
    ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
