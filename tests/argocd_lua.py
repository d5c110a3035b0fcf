"""A health check run the way Argo CD runs it, for the tests.

Argo CD (util/lua/lua.go, v3.1 and v3.2) runs a health script in gopher-lua, a Lua 5.1, with the standard
libraries off except four: package, base, table, and its own "safe" os, whose `time` and `date` it registers
into the `table` module (so there is no global `os`; `require("os")` returns them). The live object is the
global `obj`, converted from JSON: objects and arrays become tables, numbers numbers. The script's result
must be a table (or nil); Argo CD encodes it to JSON (gopher-json: an empty table is `[]`, mixed or sparse
keys are errors) and decodes that into its HealthStatus {status, message}: a field of the wrong type gives
an empty status, and a status outside Healthy, Progressing, Degraded, Suspended, Missing, Unknown becomes
Unknown with "Lua returned an invalid health status".

Here the same script runs in Lua 5.1 (lupa.lua51), in a state stripped to what gopher-lua opens: only the
globals of its base library, `table` with `time` and `date`, `package` without C loaders, no `string`,
`math`, `io`, `os`, `debug` or `coroutine`, and no string methods (`("x"):upper()` fails as it does there).
Not emulated: the one-second deadline (C Lua is much faster than gopher-lua) and gopher-lua's number format.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lupa.lua51 as lua51

VALID_STATUSES = ("Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown")
INVALID_STATUS = "Lua returned an invalid health status"

# The globals gopher-lua's OpenBase registers (baselib.go, v1.1.1, the version Argo CD v3.1 and v3.2 pin),
# including `module` and `require`, which it keeps with the base functions.
BASE_GLOBALS = (
    "assert", "collectgarbage", "dofile", "error", "getfenv", "getmetatable", "load", "loadfile", "loadstring",
    "next", "pcall", "print", "rawequal", "rawget", "rawset", "select", "setfenv", "setmetatable", "tonumber",
    "tostring", "type", "unpack", "xpcall", "module", "require", "newproxy", "ipairs", "pairs", "_G", "_VERSION",
)

# Runs once per state, with every C Lua library still at hand, and leaves only what Argo CD's VM has.
STRIP = """
local keep = {...}
local allowed = {table = true, package = true}
for _, name in ipairs(keep) do allowed[name] = true end
local safe_os = {time = os.time, date = os.date}
table.time, table.date = os.time, os.date
debug.setmetatable("", nil)
local loaders = package.loaders
package.loaders = {loaders[1], loaders[2]}
package.cpath = ""
package.preload = {os = function() return safe_os end}
package.loaded = {_G = _G, package = package, table = table}
local names = {}
for name in pairs(_G) do names[#names + 1] = name end
for _, name in ipairs(names) do
  if not allowed[name] then _G[name] = nil end
end
"""


class LuaFailure(Exception):
    """The script raised an error or returned what Argo CD refuses: Argo CD reports the resource's health as an error."""


@dataclass(frozen=True)
class Health:
    status: str
    message: str

    @property
    def valid(self) -> bool:
        """A status Argo CD acts on, and a message that is text."""
        return self.status in VALID_STATUSES


def _to_lua(runtime: Any, value: Any) -> Any:
    """Argo CD's decodeValue: maps and lists become tables (lists 1-based), scalars stay scalars."""
    if isinstance(value, dict):
        return runtime.table_from({str(k): _to_lua(runtime, v) for k, v in value.items() if v is not None})
    if isinstance(value, list):
        table = runtime.table()
        for index, item in enumerate(value, start=1):
            table[index] = _to_lua(runtime, item)
        return table
    if isinstance(value, bool | str) or value is None:
        return value
    return float(value)  # JSON numbers are Lua numbers (doubles)


def _encode(value: Any, runtime: Any, depth: int = 0) -> Any:
    """gopher-json's Encode of a Lua value into what JSON would carry (it refuses a table nested in itself)."""
    if value is None or isinstance(value, bool | str | int | float):
        return value
    if lupa_type(runtime, value) != "table":
        raise LuaFailure(f"cannot encode {lupa_type(runtime, value)} to JSON")
    if depth > 100:
        raise LuaFailure("cannot encode recursively nested tables to JSON")
    items = list(value.items())
    if not items:
        return []  # an empty table is an array to gopher-json
    keys = [k for k, _ in items]
    if all(isinstance(k, str) for k in keys):
        return {k: _encode(v, runtime, depth + 1) for k, v in items}
    if all(isinstance(k, int | float) and not isinstance(k, bool) for k in keys):
        if sorted(keys) != list(range(1, len(keys) + 1)):
            raise LuaFailure("cannot encode sparse array")
        return [_encode(v, runtime, depth + 1) for _, v in sorted(items)]
    raise LuaFailure("cannot encode mixed or invalid key types")


def lupa_type(runtime: Any, value: Any) -> str:
    return str(runtime.eval("type")(value))


def _health_status(encoded: Any) -> Health:
    """encoding/json's Unmarshal into HealthStatus, then Argo CD's checks (ExecuteHealthLua)."""
    if not isinstance(encoded, dict):
        return Health("", "")  # an array: Argo CD returns an empty HealthStatus
    status, message = encoded.get("status"), encoded.get("message")
    if not isinstance(status, str | None) or not isinstance(message, str | None):
        return Health("", "")  # a type error: Argo CD also returns an empty HealthStatus
    if (status or "") not in VALID_STATUSES:
        return Health("Unknown", INVALID_STATUS)
    return Health(status or "", message or "")


def argocd_health(document: dict[str, Any], script: str) -> Health:
    """The health Argo CD's controller computes for `document` with the health check `script`."""
    runtime = lua51.LuaRuntime(register_eval=False, register_builtins=False)
    lua_type = runtime.eval("type")
    runtime.execute(STRIP, *BASE_GLOBALS)
    globals_ = runtime.globals()
    globals_.obj = _to_lua(runtime, document)
    try:
        result = runtime.execute(script)
    except lua51.LuaError as error:
        raise LuaFailure(str(error)) from error
    if result is None:
        return Health("", "")
    if lua_type(result) != "table":
        raise LuaFailure(f"expect table output from Lua script, not {lua_type(result)}")
    return _health_status(_encode(result, runtime))


def globals_of_the_vm() -> set[str]:
    """The global names a script sees, for the tests of the emulation itself."""
    runtime = lua51.LuaRuntime(register_eval=False, register_builtins=False)
    runtime.execute(STRIP, *BASE_GLOBALS)
    return {str(name) for name in runtime.globals()}
