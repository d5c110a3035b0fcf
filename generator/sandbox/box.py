"""The control plane in a box: processes on loopback, a state directory, and the interface components implement.

A component is any object with a `name` and a `start(box)` method (the `Component` protocol below). `Box.start`
starts a list of them in order; each `start` spawns its processes with `box.spawn` and returns only once they
serve (`box.wait_until`), so the next component may rely on it. Everything a box holds lives under its state
directory, so another Python process (`sandbox down`) can find and stop it:

    <state>/box.json            the ports and the bin directory of the running box
    <state>/kubeconfig          the admin kubeconfig (system:masters) for kubectl and controllers
    <state>/certs/              the box's CA and the leaves it signed (`box.certs.leaf(name, hosts)`)
    <state>/logs/<name>.log     what each process wrote
    <state>/pids/<name>.json    each process's pid, its start time (to never signal a recycled pid), its order
    <state>/data/<name>/        a component's working data (`box.data_dir(name)`), e.g. etcd's

Example of a component (Kueue's and KServe's live in their own modules):

    class Kueue:
        name = "kueue"

        def start(self, box: Box) -> None:
            serving = box.certs.leaf("kueue-webhook", ["127.0.0.1"])
            port = box.port("kueue-webhook")
            box.spawn(self.name, [str(box.binary("kueue")), f"--kubeconfig={box.kubeconfig}", ...])
            box.wait_until(self.name, lambda: _serves(port), timeout=60, what="serving its webhooks")
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from generator.sandbox.certs import Certs, Leaf
from generator.sandbox.errors import SandboxError, ToolMissing

LOG_TAIL_LINES = 25


@runtime_checkable
class Component(Protocol):
    """One part of the box: `start(box)` spawns its processes (or applies its objects) and returns once it serves.

    `name` names the component in progress lines and errors, and is the usual name of its process and log.
    A component holds no process handles of its own: `Box.stop` stops every process `box.spawn` recorded.
    """

    name: str

    def start(self, box: Box) -> None: ...


def default_state_dir() -> Path:
    """`$GPUAAS_GENERATOR_BOX`, else `${GPUAAS_GENERATOR_CACHE:-~/.cache/gpuaas-generator}/box/default`."""
    if os.environ.get("GPUAAS_GENERATOR_BOX"):
        return Path(os.environ["GPUAAS_GENERATOR_BOX"])
    cache = os.environ.get("GPUAAS_GENERATOR_CACHE") or str(Path.home() / ".cache" / "gpuaas-generator")
    return Path(cache) / "box" / "default"


def _stderr(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


class Box:
    """One control plane in a box, kept in `state` (default: `default_state_dir()`).

    `bin_dir` is where `cluster/build` put the binaries (`generator.sandbox.build.ensure_built()`); a Box opened
    only to stop it (`Box().stop()`) needs none. `progress` receives one line per step (default: standard error).
    """

    def __init__(self, state: Path | None = None, *, bin_dir: Path | None = None,
                 progress: Callable[[str], None] | None = None) -> None:
        self.state = (state or default_state_dir()).resolve()
        self.bin_dir = bin_dir
        self.progress = progress or _stderr
        self.kubeconfig = self.state / "kubeconfig"
        self._certs: Certs | None = None
        self._ports: dict[str, int] = {}
        self._order = 0
        self._tls: ssl.SSLContext | None = None
        self._processes: dict[str, subprocess.Popen[bytes]] = {}  # the ones this object started: their exit codes
        info = self.state / "box.json"
        if info.exists():  # an existing box, e.g. opened by `sandbox down` or by a test of a running box
            recorded = json.loads(info.read_text(encoding="utf-8"))
            self._ports = {str(k): int(v) for k, v in recorded.get("ports", {}).items()}
            if self.bin_dir is None and recorded.get("bin_dir"):
                self.bin_dir = Path(recorded["bin_dir"])

    # --- what components use -------------------------------------------------------------------------------------

    @property
    def certs(self) -> Certs:
        """The box's CA: `certs.leaf(name, hosts)` for a webhook server, `certs.ca_pem` for its caBundle."""
        if self._certs is None:
            self._certs = Certs(self.state / "certs")
        return self._certs

    @property
    def api_url(self) -> str:
        """The API server's URL, https on loopback."""
        return f"https://127.0.0.1:{self.port('kube-apiserver')}"

    def port(self, name: str) -> int:
        """A free loopback port for `name`, chosen the first time it is asked for and the same afterwards."""
        if name not in self._ports:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.bind(("127.0.0.1", 0))
                port = int(probe.getsockname()[1])
            while port in self._ports.values():  # the kernel may hand a just-closed port out again
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                    probe.bind(("127.0.0.1", 0))
                    port = int(probe.getsockname()[1])
            self._ports[name] = port
            self._save()
        return self._ports[name]

    def binary(self, name: str) -> Path:
        """The built binary `name` (from a `cluster/<component>/binaries` file)."""
        if self.bin_dir is None:
            raise SandboxError(f"box: no bin directory to find {name!r} in; build the box first (cluster/build)")
        path = self.bin_dir / name
        if not path.exists():
            raise SandboxError(f"box: {path} is missing; cluster/build builds it from cluster/*/binaries")
        return path

    def data_dir(self, name: str) -> Path:
        """A directory for the working data of `name`, created empty with the box."""
        path = self.state / "data" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def log_path(self, name: str) -> Path:
        return self.state / "logs" / f"{name}.log"

    def log_tail(self, name: str, lines: int = LOG_TAIL_LINES) -> str:
        path = self.log_path(name)
        if not path.exists():
            return f"(no log at {path})"
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def spawn(self, name: str, argv: Sequence[str], env: Mapping[str, str] | None = None,
              cwd: Path | None = None) -> subprocess.Popen[bytes]:
        """Start a process that outlives this Python process: its output in `logs/<name>.log`, its pid recorded.

        `env` is added to this process's environment. The process gets a session of its own, so Ctrl-C on the
        command does not reach it and `stop` can signal it with its children.
        """
        log = self.log_path(name)
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            out.write(("$ " + " ".join(argv) + "\n").encode())
            out.flush()
            try:
                process = subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                           env={**os.environ, **(env or {})}, cwd=cwd, start_new_session=True)
            except OSError as error:
                raise SandboxError(f"{name}: cannot start {argv[0]}: {error}") from error
        self._order += 1
        self._processes[name] = process
        record = {"pid": process.pid, "start": _start_time(process.pid), "order": self._order, "argv": list(argv)}
        pids = self.state / "pids"
        pids.mkdir(parents=True, exist_ok=True)
        (pids / f"{name}.json").write_text(json.dumps(record), encoding="utf-8")
        return process

    def wait_until(self, name: str, check: Callable[[], bool], timeout: float, *, what: str = "ready",
                   interval: float = 0.2) -> float:
        """Poll `check` until it is true; return the seconds it took.

        Raises SandboxError naming `name` with the tail of its log when the time runs out or when the process
        `name` (if `spawn` started one by that name) exits first. An exception from `check` counts as not yet;
        the last one is quoted if the wait fails.
        """
        start = time.monotonic()
        last_error = ""
        while True:
            try:
                if check():
                    return time.monotonic() - start
            except Exception as error:  # a server that is not up yet refuses, resets, times out: keep polling
                last_error = f"{type(error).__name__}: {error}"
            exit_code = self._exit_code(name)
            if exit_code is not None:
                raise SandboxError(f"{name} exited (code {exit_code}) before it was {what}; "
                                   f"the end of {self.log_path(name)}:\n{self.log_tail(name)}")
            if time.monotonic() - start > timeout:
                because = f" (last check: {last_error})" if last_error else ""
                raise SandboxError(f"{name} was not {what} after {timeout:.0f} s{because}; "
                                   f"the end of {self.log_path(name)}:\n{self.log_tail(name)}")
            time.sleep(interval)

    def kubeconfig_for(self, name: str, user: str, groups: list[str]) -> Path:
        """A kubeconfig at `<state>/kubeconfigs/<name>` for the identity `user` in `groups` (a client certificate).

        The box's own controllers run as the users Kubernetes' RBAC bootstrap policy binds (e.g.
        system:kube-scheduler); `box.kubeconfig` itself is system:masters.
        """
        path = self.state / "kubeconfigs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        self._write_kubeconfig(path, self.certs.client(name, user, groups))
        return path

    def request(self, method: str, path: str, body: Any = None, timeout: float = 30,
                content_type: str = "application/json") -> tuple[int, Any]:
        """One call to the API server as the box's admin: (HTTP status, the parsed JSON body or the text).

        `path` may carry a query (`?fieldManager=...`); `content_type` is the body's, e.g.
        `application/apply-patch+yaml` for a server-side apply (a JSON body is valid YAML). Cheaper than kubectl
        for polling; a refused connection raises OSError (wait_until counts it as not yet).
        """
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.api_url + path, data=data, method=method,
                                         headers={"Content-Type": content_type, "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, context=self._admin_tls(), timeout=timeout) as answer:
                return answer.status, _parsed(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, _parsed(error.read())

    def kubectl(self, *args: str, input: str | None = None, check: bool = True, timeout: float = 120) -> str:
        """Run kubectl against the box (its kubeconfig) and return standard output; a failure raises SandboxError."""
        kubectl = shutil.which("kubectl")
        if kubectl is None:
            raise ToolMissing("kubectl is not installed; the box is driven with kubectl (https://kubernetes.io/docs/tasks/tools/)")
        try:
            done = subprocess.run([kubectl, f"--kubeconfig={self.kubeconfig}", *args], input=input, capture_output=True,
                                  text=True, timeout=timeout)
        except subprocess.TimeoutExpired as error:
            raise SandboxError(f"kubectl {' '.join(args)}: no answer after {timeout:.0f} s") from error
        if check and done.returncode != 0:
            raise SandboxError(f"kubectl {' '.join(args)}: {done.stderr.strip() or f'exit {done.returncode}'}")
        return done.stdout

    def kubectl_json(self, *args: str, timeout: float = 120) -> Any:
        """`kubectl ... -o json`, parsed."""
        return json.loads(self.kubectl(*args, "-o", "json", timeout=timeout))

    # --- the box's life ------------------------------------------------------------------------------------------

    def start(self, components: Iterable[Component]) -> dict[str, float]:
        """Stop whatever box ran in this state directory, start afresh, start `components` in order.

        Returns the seconds each component took. A component that fails stops the box and raises (its error
        names it and quotes its log, which stays in `logs/`).
        """
        if self.stop():
            self.progress(f"box: stopped the box that was running in {self.state}")
        bin_dir = self.bin_dir
        if self.state.exists():
            shutil.rmtree(self.state)
        self.state.mkdir(parents=True)
        self.bin_dir, self._ports, self._certs, self._order, self._tls = bin_dir, {}, None, 0, None
        self._processes = {}
        self._save()
        took: dict[str, float] = {}
        for component in components:
            self.progress(f"box: starting {component.name} ...")
            start = time.monotonic()
            try:
                component.start(self)
            except BaseException:
                self.stop()
                raise
            took[component.name] = time.monotonic() - start
            self.progress(f"box: {component.name} ready in {took[component.name]:.1f} s")
        return took

    def running(self) -> list[str]:
        """The recorded processes that are still alive, in start order."""
        return [name for name, record in self._records() if _alive(record)]

    def stop(self, timeout: float = 10) -> list[str]:
        """Stop every recorded process (last started first): SIGTERM, then SIGKILL after `timeout` seconds.

        Works from any Python process that opens the same state directory. Returns the names it stopped.
        """
        records = [(name, record) for name, record in self._records() if _alive(record)]
        for _, record in reversed(records):
            _signal(record, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while any(_alive(r) for _, r in records) and time.monotonic() < deadline:
            time.sleep(0.1)
        for _, record in records:
            if _alive(record):
                _signal(record, signal.SIGKILL)
            _reap(record)
        for process in self._processes.values():
            process.poll()
        for path in (self.state / "pids").glob("*.json") if (self.state / "pids").exists() else ():
            path.unlink()
        return [name for name, _ in records]

    # --- internals -----------------------------------------------------------------------------------------------

    def _save(self) -> None:
        self.state.mkdir(parents=True, exist_ok=True)
        info = {"ports": self._ports, "bin_dir": str(self.bin_dir) if self.bin_dir else None}
        (self.state / "box.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n", encoding="utf-8")

    def write_admin_kubeconfig(self) -> None:
        """`<state>/kubeconfig`: the API server's URL, the box's CA, the admin (system:masters) certificate."""
        self._write_kubeconfig(self.kubeconfig, self.certs.admin())

    def _write_kubeconfig(self, path: Path, leaf: Leaf) -> None:
        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": "box", "preferences": {},
            "clusters": [{"name": "box", "cluster": {"server": self.api_url,
                                                     "certificate-authority": str(self.certs.ca.cert)}}],
            "users": [{"name": path.name, "user": {"client-certificate": str(leaf.cert), "client-key": str(leaf.key)}}],
            "contexts": [{"name": "box", "context": {"cluster": "box", "user": path.name}}],
        }
        path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")

    def _admin_tls(self) -> ssl.SSLContext:
        if self._tls is None:
            context = ssl.create_default_context(cafile=str(self.certs.ca.cert))
            admin = self.certs.admin()
            context.load_cert_chain(str(admin.cert), str(admin.key))
            self._tls = context
        return self._tls

    def _records(self) -> list[tuple[str, dict[str, Any]]]:
        pids = self.state / "pids"
        if not pids.exists():
            return []
        found = [(p.stem, json.loads(p.read_text(encoding="utf-8"))) for p in pids.glob("*.json")]
        return sorted(found, key=lambda item: int(item[1]["order"]))

    def _exit_code(self, name: str) -> int | None:
        """The exit code of the recorded process `name` once it has ended (-1 when another process started it)."""
        if name in self._processes:
            return self._processes[name].poll()
        path = self.state / "pids" / f"{name}.json"
        if not path.exists():
            return None
        return None if _alive(json.loads(path.read_text(encoding="utf-8"))) else -1


def _parsed(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body.decode(errors="replace")


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat): a pid's identity."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]


def _alive(record: Mapping[str, Any]) -> bool:
    pid = int(record["pid"])
    if _start_time(pid) != record.get("start"):
        return False  # gone, or the pid now belongs to another process
    try:
        state = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _reap(record: Mapping[str, Any]) -> None:
    """Collect the exit status of a child of this Python (started by another Box object), so it leaves no zombie."""
    try:
        os.waitpid(int(record["pid"]), os.WNOHANG)
    except ChildProcessError:  # not our child, or already collected
        pass


def _signal(record: Mapping[str, Any], sig: signal.Signals) -> None:
    pid = int(record["pid"])
    try:
        os.killpg(pid, sig)  # spawn gave each process a session (and group) of its own; its children go too
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
