"""docker-compose.yaml read the way Compose reads it, without Docker: YAML (anchors and `<<`
merges), then variable interpolation (`$$`, `$VAR`, `${VAR}`, `${VAR:-default}`,
`${VAR-default}`, `${VAR:?error}`, `${VAR?error}`, `${VAR:+alt}`, `${VAR+alt}`, nested),
then the Compose Specification JSON schema (tests/schemas/compose-spec.json)."""

from __future__ import annotations

import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COMPOSE_FILE = REPO / "docker-compose.yaml"
ENV_EXAMPLE = REPO / ".env.example"
SCHEMA = Path(__file__).resolve().parent / "schemas" / "compose-spec.json"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def read_env_file(path: Path = ENV_EXAMPLE) -> dict[str, str]:
    """KEY=VALUE lines (what .env.example holds); comments and blank lines skipped."""
    env = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


def _closing_brace(text: str, start: int) -> int:
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
    raise ValueError(f"unclosed ${{ in {text!r}")


def interpolate(text: str, env: dict, missing: list, used: set) -> str:
    """One string, as Compose interpolates it; required variables that are unset (or empty,
    for `:?`) are appended to `missing` as (name, message); every name read goes to `used`."""
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch != "$":
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "{":
            end = _closing_brace(text, i + 1)
            out.append(_expression(text[i + 2:end], env, missing, used))
            i = end + 1
        elif (m := _NAME.match(text, i + 1)):
            used.add(m.group())
            out.append(env.get(m.group(), ""))
            i = m.end()
        else:
            raise ValueError(f"invalid interpolation format in {text!r}")
    return "".join(out)


def _expression(body: str, env: dict, missing: list, used: set) -> str:
    m = _NAME.match(body)
    if not m:
        raise ValueError(f"invalid interpolation ${{{body}}}")
    name, rest = m.group(), body[m.end():]
    used.add(name)
    value, is_set = env.get(name), name in env
    for op in (":-", ":?", ":+", "-", "?", "+"):
        if rest.startswith(op):
            arg = rest[len(op):]
            break
    else:
        if rest:
            raise ValueError(f"invalid interpolation ${{{body}}}")
        return value or ""
    unset = not value if op.startswith(":") else not is_set
    if op in (":-", "-"):
        return interpolate(arg, env, missing, used) if unset else value
    if op in (":?", "?"):
        if unset:
            missing.append((name, interpolate(arg, env, [], used)))
            return ""
        return value
    return "" if unset else interpolate(arg, env, missing, used)  # :+ and +


def _walk(node, env, missing, used):
    if isinstance(node, str):
        return interpolate(node, env, missing, used)
    if isinstance(node, dict):
        return {k: _walk(v, env, missing, used) for k, v in node.items()}
    if isinstance(node, list):
        return [_walk(v, env, missing, used) for v in node]
    return node


def load_compose(env: dict, path: Path = COMPOSE_FILE):
    """(interpolated document, missing required variables, variable names read)."""
    import yaml

    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    missing: list = []
    used: set = set()
    return _walk(raw, env, missing, used), missing, used


def schema_errors(doc: dict) -> list[str]:
    from jsonschema import Draft201909Validator

    validator = Draft201909Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(doc)]


def environment(service: dict) -> dict[str, str]:
    """A service's `environment` as a mapping (Compose accepts a list of KEY=VALUE too)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def command_words(service: dict) -> list[str]:
    cmd = service.get("command") or []
    return cmd.split() if isinstance(cmd, str) else [str(c) for c in cmd]
