"""A Git server on loopback for the box: Git's smart HTTP protocol, served by `git http-backend` behind Python's
HTTP server, so Argo CD's repo-server fetches the user's tree over HTTP exactly as it fetches from a hosted
repository (`ls-remote`, then `git fetch` of one commit).

In the box it is the component `GitServer` (a process of its own, `python -m generator.sandbox.gitserver`);
`GitServer.publish(box, name, folder)` commits a folder's files onto a branch of the bare repository
`<name>.git` and returns the commit, `GitServer.url(box, name)` is what a portfolio's `gitops.repoURL` names.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import subprocess
import sys
import tempfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from generator.sandbox.box import Box

START_TIMEOUT = 30

# Commits made by the box carry a fixed author and date, so publishing the same tree twice gives the same commit.
_COMMIT_ENV = {
    "GIT_AUTHOR_NAME": "gpuaas-generator box",
    "GIT_AUTHOR_EMAIL": "box@gpuaas-generator.invalid",
    "GIT_COMMITTER_NAME": "gpuaas-generator box",
    "GIT_COMMITTER_EMAIL": "box@gpuaas-generator.invalid",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
}


def _git(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    full_env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, **(env or {})}
    result = subprocess.run(["git", *args], cwd=cwd, env=full_env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout.strip()


def publish(root: Path, name: str, source: Path, branch: str = "main", message: str = "box: publish the rendered tree") -> str:
    """Commits every file under `source` as the whole content of `branch` in the bare repository `root/name.git`
    (created when missing); returns the commit id. A tree equal to the branch's head adds no commit."""
    bare = root / f"{name}.git"
    if not bare.exists():
        _git("init", "--quiet", "--bare", "--initial-branch", branch, str(bare))
    with tempfile.TemporaryDirectory(prefix="box-publish-") as scratch:
        work = Path(scratch) / "work"
        shutil.copytree(source, work, ignore=shutil.ignore_patterns(".git"))
        env = {**_COMMIT_ENV, "GIT_DIR": str(bare), "GIT_WORK_TREE": str(work), "GIT_INDEX_FILE": str(Path(scratch) / "index")}
        _git("add", "--all", ".", cwd=work, env=env)
        tree = _git("write-tree", cwd=work, env=env)
        parent = _head(bare, branch)
        if parent and _git("--git-dir", str(bare), "rev-parse", f"{parent}^{{tree}}") == tree:
            return parent
        commit = _git("commit-tree", tree, *(["-p", parent] if parent else []), "-m", message, cwd=work, env=env)
        _git("--git-dir", str(bare), "update-ref", f"refs/heads/{branch}", commit)
        return commit


def _head(bare: Path, branch: str) -> str:
    """The commit `branch` points at, or "" for a branch not yet created."""
    result = subprocess.run(["git", "--git-dir", str(bare), "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
                            capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else ""


class _GitHandler(BaseHTTPRequestHandler):
    """One request to `git http-backend` (CGI): the smart HTTP protocol's info/refs, git-upload-pack and
    git-receive-pack. Request bodies may be chunked (git sends large negotiations that way)."""

    project_root = Path()
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (the http.server interface)
        self._backend()

    def do_POST(self) -> None:  # noqa: N802
        self._backend()

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _backend(self) -> None:
        path, _, query = self.path.partition("?")
        body = self._body()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(self.project_root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": self.client_address[0],
            "REMOTE_USER": "box",
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
        }
        result = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True)
        head, _, payload = result.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = result.stdout.partition(b"\n\n")
        status = 200
        headers: list[tuple[str, str]] = []
        for line in head.decode("latin-1").splitlines():
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.strip().split()[0])
            elif key:
                headers.append((key, value.strip()))
        if result.returncode != 0 and status == 200:
            status, payload, headers = 500, result.stderr, [("Content-Type", "text/plain")]
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the http.server interface)
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def serve(root: Path, host: str, port: int) -> None:
    handler = type("Handler", (_GitHandler,), {"project_root": root})
    with ThreadingHTTPServer((host, port), handler) as server:
        sys.stderr.write(f"git server: serving {root} on http://{host}:{server.server_address[1]}/\n")
        sys.stderr.flush()
        server.serve_forever()


class GitServer:
    """A component: the Git server as a process of the box, its repositories under the box's data directory."""

    name = "git-server"

    def start(self, box: Box) -> None:
        port = box.port(self.name)
        box.spawn(self.name, [sys.executable, "-m", "generator.sandbox.gitserver", f"--root={box.data_dir(self.name)}",
                              f"--port={port}"])
        box.wait_until(self.name, lambda: _answers(port), START_TIMEOUT, what="serving Git over HTTP")

    def url(self, box: Box, name: str) -> str:
        """The URL Argo CD clones the repository `name` from."""
        return f"http://127.0.0.1:{box.port(self.name)}/{name}.git"

    def publish(self, box: Box, name: str, source: Path, branch: str = "main") -> str:
        """Commit the files under `source` as the whole of `branch` of the repository `name`; the commit id."""
        return publish(box.data_dir(self.name), name, source, branch)


def _answers(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/")
        return connection.getresponse().status > 0
    finally:
        connection.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m generator.sandbox.gitserver", description=__doc__)
    parser.add_argument("--root", type=Path, required=True, help="folder of bare repositories (<name>.git)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    args.root.mkdir(parents=True, exist_ok=True)
    serve(args.root.resolve(), args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
