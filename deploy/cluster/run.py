"""The services scaled out on one machine, as plain processes: the recipe ``make cluster`` runs.

Starts, each as its own process (what would be its own host):

* a Mosquitto with the shipped settings (``deploy/mosquitto/shancheng.conf``);
* two API servers (``shancheng serve``) on one PostgreSQL database, sharing their rate limits
  through Redis, behind an HAProxy (``deploy/cluster/haproxy.cfg``) that spreads requests
  round-robin and keeps live streams (server-sent events) open;
* two telemetry ingesters (``shancheng lifelines ingest``) on one MQTT 5 shared subscription.

Nothing a process needs from another lives in its memory: cases and their events, alarms and
the message accounting are in PostgreSQL, rate limits in Redis, queued messages in the broker.
PostgreSQL and Redis are the machine's own (their URLs are options). The recipe writes what it
started (addresses, process ids) as JSON to ``--state`` and runs until interrupted (Ctrl-C or
SIGTERM), then stops everything it started. A Docker Compose file would start the same
processes from images; this machine has no registry of images, so the recipe is the tested
form (tests/integration/test_cluster.py drives it).

    python deploy/cluster/run.py --data-dir data --database-url postgresql://postgres@127.0.0.1/shancheng
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SHANCHENG = str(Path(sys.executable).with_name("shancheng"))


def free_port() -> int:
    """Return a TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], name: str, timeout_s: float) -> None:
    """Wait until something listens on ``port``; fail if ``process`` dies first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{name} did not listen on {port} within {timeout_s} s")


def wait_for_health(base: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    """Wait until an API server answers ``/health``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the API server at {base} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2) as answer:  # noqa: S310
                if answer.status == 200:  # noqa: PLR2004
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the API server at {base} did not answer within {timeout_s} s")


def register_city_sensors(data_dir: Path, database_url: str) -> int:
    """Put the City's sensors in the registry table (those already there are kept)."""
    from shancheng.config import Settings
    from shancheng.data.city import read_city
    from shancheng.lifelines.repository import register_sensors
    from shancheng.lifelines.sensors import sensors_from_city
    from shancheng.store import create_db_engine

    city = read_city(Settings(data_dir=data_dir).city_dir)
    engine = create_db_engine(database_url)
    with engine.begin() as conn:
        added = register_sensors(conn, sensors_from_city(city).values())
    engine.dispose()
    return added


def main() -> None:
    """Start the cluster, write its state, run until interrupted, stop it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--proxy-port", type=int, default=8310)
    parser.add_argument("--state", type=Path, default=None, help="write addresses and pids here")
    parser.add_argument("--logs", type=Path, default=None, help="folder for the processes' logs")
    args = parser.parse_args()
    logs = args.logs or Path(os.environ.get("TMPDIR", "/tmp")) / "shancheng-cluster"  # noqa: S108
    logs.mkdir(parents=True, exist_ok=True)
    children: list[subprocess.Popen[bytes]] = []

    def start(
        name: str, command: list[str], env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        with (logs / f"{name}.log").open("wb") as sink:
            child = subprocess.Popen(
                command, stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=args.data_dir.parent
            )
        children.append(child)
        return child

    def stop(*_: object) -> None:
        for child in reversed(children):
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        # the broker, with the shipped settings and its own store
        broker_port = free_port()
        store = logs / "mosquitto-store"
        store.mkdir(exist_ok=True)
        shipped = (ROOT / "deploy" / "mosquitto" / "shancheng.conf").read_text()
        conf = logs / "mosquitto.conf"
        conf.write_text(
            f"listener {broker_port} 127.0.0.1\nallow_anonymous true\n"
            + shipped.replace("/var/lib/mosquitto/", f"{store}/")
        )
        mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        broker = start("mosquitto", [mosquitto, "-c", str(conf)])
        wait_for_port(broker_port, broker, "mosquitto", 10)
        env = {
            **os.environ,
            "SHANCHENG_DATA_DIR": str(args.data_dir),
            "SHANCHENG_DATABASE_URL": args.database_url,
            "SHANCHENG_MQTT_URL": f"mqtt://127.0.0.1:{broker_port}",
            "SHANCHENG_CASES_RATE_REDIS_URL": args.redis_url,
            "SHANCHENG_CASES_CLASSIFIER_WARMUP": "false",
            "SHANCHENG_QUIET": "1",
        }
        # the schema once, before two servers race to create it
        from shancheng.store import upgrade_database

        upgrade_database(args.database_url)
        api_ports = [free_port(), free_port()]
        apis = [
            start(f"api{n}", [SHANCHENG, "serve", "--host", "127.0.0.1", "--port", str(port)], env)
            for n, port in enumerate(api_ports, start=1)
        ]
        for port, api in zip(api_ports, apis, strict=True):
            wait_for_health(f"http://127.0.0.1:{port}", api, 180)
        # the City's sensors in the registry before the ingesters load it (they read it once)
        register_city_sensors(args.data_dir, args.database_url)
        # the proxy in front of both
        cfg = (HERE / "haproxy.cfg").read_text()
        cfg = cfg.replace("{PROXY_PORT}", str(args.proxy_port))
        cfg = cfg.replace("{API1_PORT}", str(api_ports[0])).replace(
            "{API2_PORT}", str(api_ports[1])
        )
        (logs / "haproxy.cfg").write_text(cfg)
        haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
        proxy = start("haproxy", [haproxy, "-db", "-f", str(logs / "haproxy.cfg")])
        wait_for_health(f"http://127.0.0.1:{args.proxy_port}", proxy, 20)
        # two ingesters on one shared subscription, each with its own persistent session
        ingesters = [
            start(
                f"ingester{n}",
                [SHANCHENG, "lifelines", "ingest", "--client-id", f"cluster-ingester-{n}"],
                env,
            )
            for n in (1, 2)
        ]
        state = {
            "proxy": f"http://127.0.0.1:{args.proxy_port}",
            "apis": [f"http://127.0.0.1:{port}" for port in api_ports],
            "mqtt": f"mqtt://127.0.0.1:{broker_port}",
            "database_url": args.database_url,
            "logs": str(logs),
            "pids": {
                "mosquitto": broker.pid,
                "apis": [api.pid for api in apis],
                "haproxy": proxy.pid,
                "ingesters": [ingester.pid for ingester in ingesters],
            },
        }
        if args.state is not None:
            args.state.write_text(json.dumps(state, indent=2))
        print(json.dumps(state, indent=2), flush=True)
        while True:
            for child in children:
                if child.poll() is not None:
                    print(f"{child.args[0]} exited with {child.returncode}", file=sys.stderr)
                    stop()
            time.sleep(1)
    except BaseException:
        for child in children:
            if child.poll() is None:
                child.kill()
        raise


if __name__ == "__main__":
    main()
