"""Start the pinned ``sekmet-fhir`` server on loopback, load NDJSON samples into it, stop it.

The server runs in a subprocess (``sekmet serve``) with its own settings file and SQLite database in a temporary
folder: no authentication, inbound validation off (the samples carry deliberate defects the converter must see),
the order simulator off, and the traffic log off.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml


@dataclass
class RunningServer:
    base: str
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        """Terminate the server process (this process only) and wait for it."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def find_free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_settings(folder: Path, port: int) -> Path:
    """Sekmet settings: loopback only, no auth, no validation, no simulator; data under ``folder``."""
    settings = {
        "base_url": f"http://127.0.0.1:{port}/fhir", "host": "127.0.0.1", "port": port,
        "data_dir": str(folder / "data"), "own_private_key_path": str(folder / "keys" / "sekmet.pem"),
        "server_auth": {"types": ["none"]}, "validation": {"inbound": "off"},
        "simulator": {"enabled": False, "delay_seconds": 0.2}, "log_inbound": False,
    }
    path = folder / "settings.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


def start_sekmet(folder: Path, *, timeout: float = 60.0) -> RunningServer:
    """Start ``sekmet serve`` on 127.0.0.1 on a free port and wait until its CapabilityStatement answers."""
    folder.mkdir(parents=True, exist_ok=True)
    port = find_free_port()
    settings = write_settings(folder, port)
    log = folder / "server.log"
    sekmet = Path(sys.executable).with_name("sekmet")
    process = subprocess.Popen([str(sekmet), "serve", "--config", str(settings), "--host", "127.0.0.1",
                                "--port", str(port)], cwd=folder, stdout=log.open("w"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/fhir"
    server = RunningServer(base, process, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sekmet exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base}/metadata", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"sekmet did not answer within {timeout}s: {log.read_text()[-2000:]}")


def load_ndjson(base: str, folder: Path, *, batch_size: int = 200) -> dict[str, int]:
    """PUT every resource of ``folder/*.ndjson`` into the server (batch Bundles); counts per type.

    PUT keeps the sample ids, so references such as ``Patient/<id>`` resolve on the server as in the files.
    """
    counts: dict[str, int] = {}
    entries: list[dict] = []
    with httpx.Client(timeout=60) as client:
        for path in sorted(folder.glob("*.ndjson")):
            for line in path.read_text().splitlines():
                if not line.strip():
                    continue
                resource = json.loads(line)
                rtype = resource["resourceType"]
                counts[rtype] = counts.get(rtype, 0) + 1
                entries.append({"resource": resource,
                                "request": {"method": "PUT", "url": f"{rtype}/{resource['id']}"}})
                if len(entries) >= batch_size:
                    _post_batch(client, base, entries)
                    entries = []
        if entries:
            _post_batch(client, base, entries)
    return counts


def _post_batch(client: httpx.Client, base: str, entries: list[dict]) -> None:
    response = client.post(base, json={"resourceType": "Bundle", "type": "batch", "entry": entries},
                           headers={"Content-Type": "application/fhir+json"})
    response.raise_for_status()
    failed = [e.get("response", {}).get("status") for e in response.json().get("entry", [])
              if not str(e.get("response", {}).get("status", "")).startswith("20")]
    if failed:
        raise RuntimeError(f"{len(failed)} batch entries failed to load: {failed[:5]}")
