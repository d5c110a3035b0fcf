"""Watches on the box's Kueue Workloads and pods, each kept in a thread: the objects as the API server has them now,
when each namespace last saw one change, and which Workloads Kueue preempted. Polling could miss a preempted Workload
(Kueue deletes its pod, the garbage collector then its Workload, within a second); a watch sees every change.
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

from generator.sandbox.box import Box

WORKLOADS = "/apis/kueue.x-k8s.io/v1beta2/workloads"
PODS = "/api/v1/pods"
EVENTS = "/api/v1/events"
WATCH_SECONDS = 240  # the API server ends a watch after this; the thread starts the next from the last version


@dataclass(frozen=True)
class Preemption:
    at: float  # time.monotonic() when the watch saw it
    namespace: str
    workload: str
    pod: str  # the preempted pod (the Workload's owner)
    reason: str  # Kueue's Preempted condition reason: InClusterQueue, InCohortReclamation, ...


def tls_context(box: Box) -> ssl.SSLContext:
    """A client TLS context for the box's API server, as its admin."""
    context = ssl.create_default_context(cafile=str(box.certs.ca.cert))
    admin = box.certs.admin()
    context.load_cert_chain(str(admin.cert), str(admin.key))
    return context


def preempted(workload: dict[str, Any]) -> str | None:
    """Kueue's reason when it preempted the Workload (condition Preempted, or Evicted with reason Preempted)."""
    conditions = {c.get("type"): c for c in (workload.get("status") or {}).get("conditions") or []}
    condition = conditions.get("Preempted")
    if condition and condition.get("status") == "True":
        return str(condition.get("reason") or "Preempted")
    evicted = conditions.get("Evicted")
    if evicted and evicted.get("status") == "True" and evicted.get("reason") == "Preempted":
        return "Preempted"
    return None


def owner_pod(workload: dict[str, Any]) -> str:
    return next((str(o.get("name")) for o in workload["metadata"].get("ownerReferences") or [] if o.get("kind") == "Pod"), "")


class Watch:
    """One collection (all namespaces, optionally a label selector) kept up to date in a thread."""

    def __init__(self, box: Box, path: str, selector: str | None = None, *, fields: str | None = None) -> None:
        self.box, self.path = box, path
        self.query = f"labelSelector={urllib.parse.quote(selector)}&" if selector else ""
        self.query += f"fieldSelector={urllib.parse.quote(fields)}&" if fields else ""
        self.objects: dict[str, dict[str, Any]] = {}  # uid -> the object
        self.changed: dict[str, float] = {}  # namespace -> when an object in it last changed (monotonic)
        self.lock = threading.Lock()
        self.error: str | None = None
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"watch {path}", daemon=True)

    def start(self, timeout: float = 30) -> None:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"the watch on {self.path} did not start: {self.error}")

    def stop(self) -> None:
        self._stop.set()

    def last_change(self, namespaces: set[str]) -> float:
        with self.lock:
            return max((self.changed.get(n, 0.0) for n in namespaces), default=0.0)

    def items(self, namespaces: set[str]) -> list[dict[str, Any]]:
        with self.lock:
            return [o for o in self.objects.values() if o["metadata"].get("namespace") in namespaces]

    def seen(self, kind: str, obj: dict[str, Any], now: float, old: dict[str, Any] | None) -> None:
        """Called with the lock held for every object listed or changed, with its last version (a subclass notes
        more)."""

    def _record(self, kind: str, obj: dict[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        now = time.monotonic()
        with self.lock:
            self.changed[str(meta.get("namespace", ""))] = now
            if kind == "DELETED":
                old = self.objects.pop(str(meta.get("uid")), None)
            else:
                old = self.objects.get(str(meta.get("uid")))
                self.objects[str(meta.get("uid"))] = obj
            self.seen(kind, obj, now, old)

    def _run(self) -> None:
        context = tls_context(self.box)
        version = ""
        while not self._stop.is_set():
            try:
                if not version:
                    status, listed = self.box.request("GET", f"{self.path}?{self.query.rstrip('&')}")
                    if status != 200:
                        raise RuntimeError(f"listing {self.path}: {status} {listed}")
                    version = str(listed["metadata"]["resourceVersion"])
                    with self.lock:
                        self.objects = {}
                    for item in listed.get("items", []):
                        self._record("ADDED", item)
                version = self._follow(context, version)
            except (OSError, RuntimeError, ValueError, http.client.HTTPException) as error:
                self.error = f"{type(error).__name__}: {error}"
                version = ""
                time.sleep(0.5)

    def _follow(self, context: ssl.SSLContext, version: str) -> str:
        """One watch request from `version`; returns the last version seen ("" when the API server says it is gone)."""
        port = int(self.box.api_url.rsplit(":", 1)[1])
        connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=WATCH_SECONDS + 30)
        try:
            connection.request("GET", f"{self.path}?{self.query}watch=1&allowWatchBookmarks=true"
                               f"&resourceVersion={version}&timeoutSeconds={WATCH_SECONDS}")
            answer = connection.getresponse()
            if answer.status != 200:
                raise RuntimeError(f"watching {self.path}: {answer.status} {answer.read()[:200]!r}")
            self._ready.set()
            while not self._stop.is_set():
                line = answer.readline()
                if not line:
                    return version
                event = json.loads(line)
                if event.get("type") == "ERROR":
                    return ""  # 410 Gone: list again
                obj = event.get("object") or {}
                version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
                if event.get("type") != "BOOKMARK":
                    self._record(str(event.get("type")), obj)
            return version
        finally:
            connection.close()


def holds_quota(workload: dict[str, Any] | None) -> bool:
    """Kueue counts the Workload's quota as used: reserved and not finished."""
    if workload is None:
        return False
    conditions = {c.get("type"): c.get("status") for c in (workload.get("status") or {}).get("conditions") or []}
    return conditions.get("QuotaReserved") == "True" and conditions.get("Finished") != "True"


class WorkloadWatch(Watch):
    """Kueue's Workloads, every preemption the watch saw, and when each namespace last saw quota released (a
    Workload that held quota lost it, finished or went), each Workload was first seen, and each last got quota."""

    def __init__(self, box: Box) -> None:
        super().__init__(box, WORKLOADS)
        self._preemptions: list[Preemption] = []
        self._preempted: set[str] = set()
        self.released: dict[str, float] = {}  # namespace -> when
        self.added: dict[str, float] = {}  # uid -> when
        self.reserved: dict[str, float] = {}  # uid -> when

    def seen(self, kind: str, obj: dict[str, Any], now: float, old: dict[str, Any] | None) -> None:
        meta = obj.get("metadata") or {}
        reason = preempted(obj) if kind != "DELETED" else None
        uid = str(meta.get("uid", ""))
        self.added.setdefault(uid, now)
        holds = kind != "DELETED" and holds_quota(obj)
        if holds_quota(old) and not holds:
            self.released[str(meta.get("namespace", ""))] = now
        if holds and not holds_quota(old):
            self.reserved[uid] = now
        if reason and uid not in self._preempted:
            self._preempted.add(uid)
            self._preemptions.append(Preemption(now, str(meta.get("namespace", "")), str(meta.get("name")),
                                                owner_pod(obj), reason))

    def preemptions(self, namespaces: set[str], since: float) -> list[Preemption]:
        with self.lock:
            return [p for p in self._preemptions if p.namespace in namespaces and p.at >= since]


class AttemptWatch(Watch):
    """Kueue's scheduler's failed attempts: it records an Event `Pending` on the Workload each time it tries one and
    cannot admit it (pkg/scheduler/scheduler.go requeueAndUpdate), even when the Workload's status stays the same."""

    def __init__(self, box: Box) -> None:
        super().__init__(box, EVENTS, fields="involvedObject.kind=Workload,reason=Pending")
        self.attempted: dict[tuple[str, str], float] = {}  # (namespace, Workload) -> when

    def seen(self, kind: str, obj: dict[str, Any], now: float, old: dict[str, Any] | None) -> None:
        involved = obj.get("involvedObject") or {}
        if kind != "DELETED":
            self.attempted[(str(involved.get("namespace", "")), str(involved.get("name", "")))] = now
