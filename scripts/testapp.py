#!/usr/bin/env python3
"""Stand-in for the Next.js app's job endpoints, with fault injection.

A real HTTP/1.1 server on loopback (standard library only) that answers the
three job routes the way the real app does. The integration tests of
`process-jobs` POST jobs to it and assert on what it received; the README uses
it as the demo app.

Usage
-----
    python3 scripts/testapp.py [--host 127.0.0.1] [--port 0] [--token TOKEN]
        [--verify-signing-secret "whsec_... [whsec_...]"]
        [--port-file PATH] [--database-url URL]
        [--delay-ms N | --delay-ms MIN-MAX]
        [--chaos SPEC] [--chaos-hang-seconds S] [--seed N]
        [--quiet | --verbose]

--port 0 picks a free port. Once listening, the server writes the port number
to --port-file (atomically) if given, then prints exactly one line
`listening on http://HOST:PORT` to stdout. The token is --token, else
$SUPABASE_SERVICE_ROLE_KEY, else `test-token`. It is silent by default
(--quiet); --verbose prints one line per request to stderr. SIGTERM and
SIGINT stop it with exit status 0.

App routes (POST only; GET on one of them -> 405, any other path -> 404
{"error":"Not found"})
-------------------------------------------------------------------------
Checks run in this order: control rule (see below), route/method,
`Authorization: Bearer <token>` (else 401 {"error":"Unauthorized"}; with the
token configured as null, a valid Standard Webhooks signature instead), global
delay and chaos, then the JSON body: not a JSON object or no projectId -> 400
{"error":"Missing required fields"} (an empty body too); projectId "missing"
-> 404 {"error":"Project not found"}; projectId "boom" -> 500
{"error":"Generation failed: boom"}.

    /api/process-image          200 {"success":true,
                                     "imageUrl":"https://example.invalid/<projectId>/<imageType>.png",
                                     "jobId":<X-Job-Id header or null>}
    /api/process-complete-pack  200 {"success":true,"imagesQueued":6,"aplusQueued":<includeAPlus is true>}
                                With --database-url, first inserts six generate-image jobs
                                (main, lifestyle, infographic, detail, comparison, packaging;
                                style = body's style or "modern"; user_id = body's userId)
                                and, if includeAPlus is true, one generate-aplus job into
                                job_queue(job_type, payload, user_id) with one psql call.
    /api/process-aplus          200 {"success":true,"aplusId":"<projectId>-aplus"}
    /api/job-failed             a failure job (process-jobs --on-failure job-failed): needs
                                failedJobId instead of projectId (else 400);
                                200 {"success":true,"failedJobId":"<failedJobId>"}

Request log
-----------
Every non-control request (401s, faults and all) is logged once its body has
been read, before it is answered:

    {"seq": 1, "time": <epoch float>, "path": "/api/process-image", "method": "POST",
     "headers": {<lower-cased name>: value}, "body": <raw body text>,
     "bodyBytes": <length of the raw body; "body" keeps at most --log-body-max bytes>,
     "jobId": <X-Job-Id or null>, "jobType": <X-Job-Type or null>,
     "attempt": <X-Job-Attempt as int or null>,
     "idempotencyKey": <Idempotency-Key (or X-Idempotency-Key) or null>,
     "action": "ok" | "gzip" | "status:500" | "hang" | "drop" | "big_body" | "endless"
               | "nonjson" | "redirect:307" | "invalid_http",
     "status": <status code sent, or null if none was>,
     "fault": null | "chaos" | "rule:<index>",
     "delayMs": <delay applied before answering, 0 if none>,
     "signature": null | "valid" | "invalid: <the verifier's error>"}

Signatures
----------
With --verify-signing-secret (or config "verify_signing_secret"), every app
request is checked by the reference Standard Webhooks verifier (PyPI
`standardwebhooks`: Webhook(secret).verify(body, headers)) against each
secret given (separated by spaces); "signature" records whether one of them
verified it. POST /_control/verify {"secret", "body", "headers"} runs the same
verifier on anything (a recorded request with a field altered) and answers
{"valid": bool, "error": str | null}.

"ok" means the normal app behaviour, whatever its status (200, 400, 401...).

Control API (no auth; requests under /_control are never logged)
----------------------------------------------------------------
    GET  /_control/health        200 {"ok":true}
    GET  /_control/log[?since=N] 200 [entries with seq > N]
    POST /_control/reset         clear the log (seq restarts at 1), the rules and
                                 their counters; re-seed the chaos/delay randomness
    POST /_control/rules         body: JSON array of rules, replacing the current ones
    POST /_control/config        body: {"delay_ms": N | [MIN, MAX] | null,
                                        "chaos": SPEC | null, "chaos_hang_seconds": S,
                                        "token": "..." | null,
                                        "verify_signing_secret": "whsec_..." | null};
                                 only given keys change.
    POST /_control/verify        see Signatures
                                 Answers the resulting config.
Invalid rules or config -> 400 {"error": ...} and nothing changes.

A rule is {"match": {...}, "times": N | null, "action": {...}}. Every key given
in "match" (jobId, jobType, path, projectId - the last read from the JSON
body) must equal the request's value; an empty or absent match matches all.
The first matching rule that has uses left (times null = unlimited) handles
the request, bypassing auth, the global delay and chaos. Actions:

    {"status": 500, "body": "text" | <JSON value>, "headers": {"Retry-After": "3"}}
        that status and body (default {"error":"injected <status>"}),
        Content-Type application/json unless the headers set one; a Date
        header given here replaces the server's own
    {"hang": S}              read the request, send nothing for S seconds (max 600,
                             or until the client hangs up), then close
    {"drop": "before"}       close without sending anything
    {"drop": "mid"}          send headers with Content-Length 1000, 10 body bytes, close
    {"delay_ms": N}          sleep N ms, then behave normally (may be combined with any
                             other action, which then runs after the sleep)
    {"big_body": BYTES}      200 with a JSON body of BYTES bytes, streamed in 64 KiB chunks
    {"endless": true}        200 chunked, a small chunk every 100 ms until the client goes
                             away (or 600 s)
    {"nonjson": "text"}      200 text/plain with that text
    {"gzip": true}           normal answer, gzip-encoded if Accept-Encoding allows gzip
    {"redirect": "/x", "status": 307}  that 3xx (default 307) with Location and a JSON body
    {"invalid_http": true}   write `garbage\\r\\n\\r\\n` and close

Global delay and chaos
----------------------
--delay-ms N or MIN-MAX sleeps (uniformly at random in the range) before
answering every authorized app request without a matching rule. --chaos, e.g.
`500:0.30,hang:0.10,drop:0.05,429:0.05`, then draws one number per such
request and injects the fault whose cumulative probability band it falls in:
a status code answers that status (429 adds Retry-After: 1), `hang` hangs for
--chaos-hang-seconds (default 30), `drop` drops mid-body. The draws come from
random.Random(--seed) (default 0), so a sequential run is reproducible.

Example
-------
    python3 scripts/testapp.py --port 8787 --token secret &
    curl -s -XPOST localhost:8787/_control/rules \\
         -d '[{"match":{"jobId":"j1"},"times":2,"action":{"status":503}}]'
    curl -s -XPOST -H 'Authorization: Bearer secret' -H 'X-Job-Id: j1' \\
         -d '{"projectId":"p1","imageType":"main"}' localhost:8787/api/process-image
    curl -s localhost:8787/_control/log
"""

from __future__ import annotations

import argparse
import gzip
import http.server
import json
import os
import random
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from email.message import Message
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

IMAGE_TYPES = ("main", "lifestyle", "infographic", "detail", "comparison", "packaging")
MAX_FAULT_SECONDS = 600.0
STREAM_CHUNK = 64 * 1024
# Shared, never mutated: big bodies are streamed from this instead of being built.
PAD_CHUNK = b"x" * STREAM_CHUNK
BIG_BODY_PREFIX = b'{"success":true,"pad":"'
BIG_BODY_SUFFIX = b'"}'
ENDLESS_CHUNK = b" " * 64  # JSON whitespace: the body stays a valid JSON prefix forever
PSQL_TIMEOUT_SECONDS = 30

MATCH_KEYS = frozenset({"jobId", "jobType", "path", "projectId"})
# Order matters: "redirect" first because a redirect action also carries "status".
ACTION_KINDS = ("redirect", "status", "hang", "drop", "big_body", "endless",
                "nonjson", "gzip", "invalid_http")
ACTION_KEYS = frozenset(ACTION_KINDS) | {"delay_ms", "body", "headers"}
CONNECTION_ERRORS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


class ConfigError(ValueError):
    """An invalid command-line value, chaos spec, rule or config payload."""


# --------------------------------------------------------------------------
# Parsing of delays, chaos specs and rules (shared by the CLI and control API)
# --------------------------------------------------------------------------

def _number(value: Any, what: str, minimum: float = 0.0) -> float:
    # bool is an int subclass; `true` is never a sensible number here.
    if isinstance(value, bool):
        raise ConfigError(f"{what} must be a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{what} must be a number") from None
    if not number >= minimum:  # also rejects NaN
        raise ConfigError(f"{what} must be >= {minimum:g}")
    return number


def parse_delay(value: Any) -> tuple[float, float]:
    """N, "N", "MIN-MAX" or [MIN, MAX] milliseconds -> (min, max); None -> no delay."""
    if value is None:
        return (0.0, 0.0)
    if isinstance(value, str):
        parts: list[Any] = value.split("-")
    elif isinstance(value, list):
        parts = value
    else:
        parts = [value]
    if len(parts) not in (1, 2):
        raise ConfigError("delay must be N, MIN-MAX or [MIN, MAX] milliseconds")
    low, high = (_number(part, "delay_ms") for part in (parts[0], parts[-1]))
    if low > high:
        raise ConfigError("delay minimum exceeds maximum")
    return (low, high)


def parse_chaos(spec: str | None) -> list[tuple[float, str]]:
    """'500:0.3,hang:0.1' -> [(0.3, '500'), (0.4, 'hang')]: faults with cumulative probability."""
    if spec is None:
        return []
    if not isinstance(spec, str):
        raise ConfigError("chaos must be a string such as '500:0.3,hang:0.1' or null")
    faults: list[tuple[float, str]] = []
    total = 0.0
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, probability = item.partition(":")
        if name not in ("hang", "drop") and not (name.isdigit() and 100 <= int(name) <= 599):
            raise ConfigError(f"unknown chaos fault {name!r} (use a status code, hang or drop)")
        total += _number(probability, f"chaos probability of {name}")
        faults.append((total, name))
    if total > 1.0 + 1e-9:
        raise ConfigError("chaos probabilities add up to more than 1")
    return faults


def chaos_action(name: str, hang_seconds: float) -> dict[str, Any]:
    """The rule action equivalent of one chaos fault."""
    if name == "hang":
        return {"hang": hang_seconds}
    if name == "drop":
        return {"drop": "mid"}
    status = int(name)
    return {"status": status, "headers": {"Retry-After": "1"} if status == 429 else {}}


def action_kind(action: dict[str, Any]) -> str | None:
    """Which fault an action injects; None for plain delay_ms (normal behaviour)."""
    return next((kind for kind in ACTION_KINDS if kind in action), None)


def parse_action(raw: Any) -> dict[str, Any]:
    """Validate an action up front so that a bad rule fails at POST time, not mid-request."""
    if not isinstance(raw, dict) or not raw:
        raise ConfigError("action must be a non-empty object")
    unknown = raw.keys() - ACTION_KEYS
    if unknown:
        raise ConfigError(f"unknown action keys: {sorted(unknown)}")
    kinds = [kind for kind in ACTION_KINDS if kind in raw]
    if "redirect" in kinds and "status" in kinds:
        kinds.remove("status")
    if len(kinds) > 1:
        raise ConfigError(f"action combines {kinds}; use one")
    if not kinds and "delay_ms" not in raw:
        raise ConfigError("action needs one of " + ", ".join(ACTION_KINDS) + " or delay_ms")
    if "delay_ms" in raw:
        _number(raw["delay_ms"], "delay_ms")
    if "status" in raw:
        low = 300 if "redirect" in raw else 100
        high = 399 if "redirect" in raw else 599
        if isinstance(raw["status"], bool) or not isinstance(raw["status"], int) \
                or not low <= raw["status"] <= high:
            raise ConfigError(f"status must be an integer in {low}..{high}")
    if "headers" in raw and not (isinstance(raw["headers"], dict)
                                 and all(isinstance(v, (str, int)) for v in raw["headers"].values())):
        raise ConfigError("headers must be an object of strings")
    if "hang" in raw:
        _number(raw["hang"], "hang")
    if "drop" in raw and raw["drop"] not in ("before", "mid"):
        raise ConfigError('drop must be "before" or "mid"')
    if "big_body" in raw and (isinstance(raw["big_body"], bool) or not isinstance(raw["big_body"], int)
                              or raw["big_body"] < 0):
        raise ConfigError("big_body must be a byte count")
    for key in ("nonjson", "redirect"):
        if key in raw and not isinstance(raw[key], str):
            raise ConfigError(f"{key} must be a string")
    return raw


@dataclass
class Rule:
    index: int
    match: dict[str, Any]
    remaining: int | None  # uses left; None = unlimited
    action: dict[str, Any]


def parse_rules(payload: Any) -> list[Rule]:
    if not isinstance(payload, list):
        raise ConfigError("rules must be a JSON array")
    rules = []
    for index, raw in enumerate(payload):
        if not isinstance(raw, dict):
            raise ConfigError(f"rule {index} must be an object")
        match = raw.get("match") or {}
        if not isinstance(match, dict) or not match.keys() <= MATCH_KEYS:
            raise ConfigError(f"rule {index}: match keys must be among {sorted(MATCH_KEYS)}")
        times = raw.get("times")
        if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 0):
            raise ConfigError(f"rule {index}: times must be a non-negative integer or null")
        try:
            action = parse_action(raw.get("action"))
        except ConfigError as exc:
            raise ConfigError(f"rule {index}: {exc}") from None
        rules.append(Rule(index, match, times, action))
    return rules


# --------------------------------------------------------------------------
# Shared server state: request log, rules, run-time configuration
# --------------------------------------------------------------------------

@dataclass
class Request:
    """One fully read app request and its (shared, mutable) log entry."""
    method: str
    path: str
    headers: Message
    body: Any  # decoded JSON body, or None if absent or invalid
    entry: dict[str, Any]

    @property
    def project_id(self) -> Any:
        return self.body.get("projectId") if isinstance(self.body, dict) else None

    def match_value(self, key: str) -> Any:
        return self.project_id if key == "projectId" else self.entry[key]


class AppState:
    """Everything the handler threads share; every access goes through one lock."""

    def __init__(self, *, token: str, delay: tuple[float, float], chaos: str | None,
                 chaos_hang_seconds: float, seed: int, database_url: str | None, verbose: bool,
                 verify_signing_secret: str | None = None):
        self.lock = threading.Lock()
        self.verify_signing_secret = verify_signing_secret
        self.database_url = database_url
        self.verbose = verbose
        self.log_body_max: int | None = None  # --log-body-max
        self.seed = seed
        self.token = token
        self.delay = delay
        self.chaos_spec = chaos
        self.chaos = parse_chaos(chaos)
        self.chaos_hang_seconds = chaos_hang_seconds
        self._reset_locked()

    def _reset_locked(self) -> None:
        self.log: list[dict[str, Any]] = []
        self.seq = 0
        self.rules: list[Rule] = []
        # Separate generators so that delays do not shift the chaos sequence.
        self.chaos_rng = random.Random(self.seed)
        self.delay_rng = random.Random(self.seed + 1)

    def reset(self) -> None:
        with self.lock:
            self._reset_locked()

    # -- request log --

    def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            self.log.append(entry)
        return entry

    def update(self, entry: dict[str, Any], **changes: Any) -> None:
        with self.lock:
            entry.update(changes)

    def entries_since(self, since: int) -> list[dict[str, Any]]:
        # Copy under the lock; serialising happens outside it.
        with self.lock:
            return [dict(entry) for entry in self.log if entry["seq"] > since]

    # -- rules --

    def set_rules(self, rules: list[Rule]) -> None:
        with self.lock:
            self.rules = rules

    def take_rule(self, request: Request) -> Rule | None:
        """The first matching rule with uses left, consuming one use."""
        with self.lock:
            for rule in self.rules:
                if rule.remaining == 0:
                    continue
                if all(request.match_value(key) == value for key, value in rule.match.items()):
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    return rule
        return None

    # -- configuration, delay and chaos --

    def authorized(self, header: str | None, signature: str | None) -> bool:
        with self.lock:
            if self.token is None:
                return signature == "valid"
            return header == f"Bearer {self.token}"

    def check_signature(self, raw: bytes, headers: dict[str, str]) -> str | None:
        """None without a secret to verify with, else "valid" or "invalid: <reason>"."""
        with self.lock:
            secrets = self.verify_signing_secret
        if secrets is None:
            return None
        errors = []
        for secret in secrets.split():
            valid, error = verify_signature(secret, raw, headers)
            if valid:
                return "valid"
            errors.append(error)
        return "invalid: " + "; ".join(errors)

    def configure(self, payload: Any) -> None:
        if not isinstance(payload, dict):
            raise ConfigError("config must be a JSON object")
        unknown = payload.keys() - {"delay_ms", "chaos", "chaos_hang_seconds", "token", "verify_signing_secret"}
        if unknown:
            raise ConfigError(f"unknown config keys: {sorted(unknown)}")
        # Validate everything before changing anything.
        delay = parse_delay(payload["delay_ms"]) if "delay_ms" in payload else None
        chaos = parse_chaos(payload["chaos"]) if "chaos" in payload else None
        hang = (_number(payload["chaos_hang_seconds"], "chaos_hang_seconds")
                if "chaos_hang_seconds" in payload else None)
        if "token" in payload and not isinstance(payload["token"], (str, type(None))):
            raise ConfigError("token must be a string or null")
        if "verify_signing_secret" in payload and not isinstance(payload["verify_signing_secret"], (str, type(None))):
            raise ConfigError("verify_signing_secret must be a string or null")
        with self.lock:
            if delay is not None:
                self.delay = delay
            if chaos is not None:
                self.chaos, self.chaos_spec = chaos, payload["chaos"]
            if hang is not None:
                self.chaos_hang_seconds = hang
            self.token = payload.get("token", self.token)
            self.verify_signing_secret = payload.get("verify_signing_secret", self.verify_signing_secret)

    def config_snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"delay_ms": list(self.delay), "chaos": self.chaos_spec,
                    "chaos_hang_seconds": self.chaos_hang_seconds, "token": self.token,
                    "verify_signing_secret": self.verify_signing_secret}

    def draw_delay_ms(self) -> float:
        with self.lock:
            low, high = self.delay
            return self.delay_rng.uniform(low, high) if high > 0 else 0.0

    def draw_chaos(self) -> dict[str, Any] | None:
        """One uniform draw per request, mapped onto the cumulative fault bands."""
        with self.lock:
            if not self.chaos:
                return None
            draw = self.chaos_rng.random()
            faults, hang_seconds = self.chaos, self.chaos_hang_seconds
        for cumulative, name in faults:
            if draw < cumulative:
                return chaos_action(name, hang_seconds)
        return None


# --------------------------------------------------------------------------
# The app itself: pure functions from a request to (status, JSON payload)
# --------------------------------------------------------------------------

def sql_literal(value: str | None) -> str:
    # E'' with doubled backslashes and quotes is safe whatever
    # standard_conforming_strings is set to.
    if value is None:
        return "NULL"
    return "E'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def insert_jobs(database_url: str, jobs: list[tuple[str, dict[str, Any], str | None]]) -> str | None:
    """Insert (job_type, payload, user_id) rows with one psql call; an error message or None."""
    values = ", ".join(
        f"({sql_literal(job_type)}, {sql_literal(json.dumps(payload))}::jsonb, {sql_literal(user_id)})"
        for job_type, payload, user_id in jobs)
    sql = f"INSERT INTO job_queue (job_type, payload, user_id) VALUES {values}"
    command = ["psql", database_url, "-v", "ON_ERROR_STOP=1", "-q", "-X", "-c", sql]
    try:
        result = subprocess.run(command, capture_output=True, text=True,
                                timeout=PSQL_TIMEOUT_SECONDS, check=False)
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:  # ValueError: NUL in an argument
        return str(exc)
    if result.returncode != 0:
        return result.stderr.strip() or f"psql exited with status {result.returncode}"
    return None


def process_image(state: AppState, request: Request) -> tuple[int, Any]:
    body = request.body
    image_type = body.get("imageType") or "main"
    return 200, {"success": True,
                 "imageUrl": f"https://example.invalid/{body['projectId']}/{image_type}.png",
                 "jobId": request.entry["jobId"]}


def process_complete_pack(state: AppState, request: Request) -> tuple[int, Any]:
    body = request.body
    project_id, style = body["projectId"], body.get("style") or "modern"
    user_id = None if body.get("userId") is None else str(body["userId"])
    include_aplus = body.get("includeAPlus") is True
    if state.database_url:
        jobs = [("generate-image", {"projectId": project_id, "imageType": image_type, "style": style},
                 user_id) for image_type in IMAGE_TYPES]
        if include_aplus:
            jobs.append(("generate-aplus", {"projectId": project_id}, user_id))
        error = insert_jobs(state.database_url, jobs)
        if error is not None:
            return 500, {"error": f"Failed to queue jobs: {error}"}
    return 200, {"success": True, "imagesQueued": len(IMAGE_TYPES), "aplusQueued": include_aplus}


def process_aplus(state: AppState, request: Request) -> tuple[int, Any]:
    return 200, {"success": True, "aplusId": f"{request.body['projectId']}-aplus"}


def job_failed(state: AppState, request: Request) -> tuple[int, Any]:
    return 200, {"success": True, "failedJobId": request.body["failedJobId"]}


API_ROUTES: dict[str, Callable[[AppState, Request], tuple[int, Any]]] = {
    "/api/job-failed": job_failed,
    "/api/process-image": process_image,
    "/api/process-complete-pack": process_complete_pack,
    "/api/process-aplus": process_aplus,
}


def access_error(state: AppState, request: Request) -> tuple[int, Any] | None:
    """The answer for requests the app refuses before looking at the body, else None."""
    if request.path not in API_ROUTES:
        return 404, {"error": "Not found"}
    if request.method != "POST":
        return 405, {"error": "Method not allowed"}
    if not state.authorized(request.headers.get("Authorization"), request.entry["signature"]):
        return 401, {"error": "Unauthorized"}
    return None


def app_answer(state: AppState, request: Request) -> tuple[int, Any]:
    """What the real app answers."""
    refusal = access_error(state, request)
    if refusal is not None:
        return refusal
    if request.path == "/api/job-failed":
        failed_job_id = request.body.get("failedJobId") if isinstance(request.body, dict) else None
        if not isinstance(failed_job_id, str) or not failed_job_id:
            return 400, {"error": "Missing required fields"}
        return job_failed(state, request)
    if not request.project_id:
        return 400, {"error": "Missing required fields"}
    if request.project_id == "missing":
        return 404, {"error": "Project not found"}
    if request.project_id == "boom":
        return 500, {"error": "Generation failed: boom"}
    return API_ROUTES[request.path](state, request)


# --------------------------------------------------------------------------
# Control API: functions from (state, query, raw body) to (status, JSON payload)
# --------------------------------------------------------------------------

def _json_body(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except ValueError:
        raise ConfigError("body is not valid JSON") from None


def control_health(state: AppState, query: dict[str, list[str]], raw: bytes) -> tuple[int, Any]:
    return 200, {"ok": True}


def control_log(state: AppState, query: dict[str, list[str]], raw: bytes) -> tuple[int, Any]:
    try:
        since = int(query.get("since", ["0"])[0])
    except ValueError:
        return 400, {"error": "since must be an integer"}
    return 200, state.entries_since(since)


def control_reset(state: AppState, query: dict[str, list[str]], raw: bytes) -> tuple[int, Any]:
    state.reset()
    return 200, {"ok": True}


def control_rules(state: AppState, query: dict[str, list[str]], raw: bytes) -> tuple[int, Any]:
    try:
        rules = parse_rules(_json_body(raw))
    except ConfigError as exc:
        return 400, {"error": str(exc)}
    state.set_rules(rules)
    return 200, {"ok": True, "rules": len(rules)}


def verify_signature(secret: str, raw: bytes | str, headers: dict[str, str]) -> tuple[bool, str | None]:
    """The reference verifier's verdict; imported here so the app runs without it otherwise."""
    import standardwebhooks  # PyPI standardwebhooks, installed by scripts/setup
    try:
        standardwebhooks.Webhook(secret).verify(raw, headers, json_parse=False)
        return True, None
    except Exception as exc:  # the verifier raises several kinds; each is a refusal
        return False, f"{type(exc).__name__}: {exc}"


def control_verify(state: AppState, query: dict[str, list[str]], raw: bytes) -> tuple[int, Any]:
    try:
        payload = _json_body(raw)
    except ConfigError as exc:
        return 400, {"error": str(exc)}
    if (not isinstance(payload, dict) or not isinstance(payload.get("secret"), str)
            or not isinstance(payload.get("body"), str) or not isinstance(payload.get("headers"), dict)):
        return 400, {"error": "expected {\"secret\": str, \"body\": str, \"headers\": {...}}"}
    valid, error = verify_signature(payload["secret"], payload["body"], payload["headers"])
    return 200, {"valid": valid, "error": error}


def control_config(state: AppState, query: dict[str, list[str]], raw: bytes) -> tuple[int, Any]:
    try:
        state.configure(_json_body(raw))
    except ConfigError as exc:
        return 400, {"error": str(exc)}
    return 200, state.config_snapshot()


CONTROL_ROUTES = {
    "/_control/health": ("GET", control_health),
    "/_control/log": ("GET", control_log),
    "/_control/reset": ("POST", control_reset),
    "/_control/rules": ("POST", control_rules),
    "/_control/config": ("POST", control_config),
    "/_control/verify": ("POST", control_verify),
}


# --------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------

def encode_json(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def accepts_gzip(header: str | None) -> bool:
    codings = {part.split(";")[0].strip().lower() for part in (header or "").split(",")}
    return "gzip" in codings or "*" in codings


class BadFraming(Exception):
    """The request body's framing (Content-Length / chunked) is unreadable."""


class ClientGone(Exception):
    """The client closed the connection before sending the whole body."""


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every answer carries its length
    server_version = "testapp/1.0"
    # Headers and body go out in separate writes; Nagle + delayed ACK would
    # otherwise add ~40 ms to every keep-alive request.
    disable_nagle_algorithm = True
    server: "Server"

    def do_POST(self) -> None:
        self._handle()

    do_GET = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_POST

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        pass  # _handle prints its own line, which also covers answers never sent

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.state.verbose:
            super().log_message(format, *args)

    # -- reading --

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            raise BadFraming from None
        if length < 0:
            raise BadFraming
        body = self.rfile.read(length)
        if len(body) < length:
            raise ClientGone
        return body

    def _read_chunked(self) -> bytes:
        parts = []
        while True:
            line = self.rfile.readline(1024)
            if not line:
                raise ClientGone
            try:
                size = int(line.split(b";")[0], 16)
            except ValueError:
                raise BadFraming from None
            if size == 0:
                break
            chunk = self.rfile.read(size + 2)  # data + CRLF
            if len(chunk) < size + 2:
                raise ClientGone
            parts.append(chunk[:size])
        while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
            pass  # skip trailers
        return b"".join(parts)

    # -- writing --

    def _start(self, request: Request | None, status: int, headers: dict[str, Any]) -> None:
        """Send the status line and headers, noting the status in the log entry."""
        if request is not None:
            self.server.state.update(request.entry, status=status)
        if any(name.lower() == "date" for name in headers):
            # A rule's own Date header (hostile-header tests) replaces the server's.
            self.send_response_only(status)
            self.send_header("Server", self.version_string())
        else:
            self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, str(value))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()

    def _send(self, request: Request | None, status: int, body: bytes,
              headers: dict[str, Any] | None = None) -> None:
        headers = dict(headers or {})
        if not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "application/json"
        headers["Content-Length"] = len(body)
        self._start(request, status, headers)
        self.wfile.write(body)

    def _send_json(self, request: Request | None, status: int, payload: Any) -> None:
        self._send(request, status, encode_json(payload))

    # -- dispatch --

    def _handle(self) -> None:
        url = urlsplit(self.path)
        try:
            raw = self._read_body()
        except BadFraming:
            self.close_connection = True
            self._send_json(None, 400, {"error": "Bad request framing"})
            return
        except ClientGone:
            self.close_connection = True
            return
        if url.path == "/_control" or url.path.startswith("/_control/"):
            self._control(url.path, parse_qs(url.query), raw)
            return
        request = self._record(url.path, raw)
        try:
            self._serve(request)
        finally:
            if self.server.state.verbose:
                entry = request.entry
                print(f"{entry['seq']} {request.method} {request.path} -> "
                      f"{entry['action']} {entry['status']}", file=sys.stderr, flush=True)

    def _control(self, path: str, query: dict[str, list[str]], raw: bytes) -> None:
        method, function = CONTROL_ROUTES.get(path, (None, None))
        if function is None:
            self._send_json(None, 404, {"error": "Not found"})
        elif self.command != method:
            self._send_json(None, 405, {"error": "Method not allowed"})
        else:
            self._send_json(None, *function(self.server.state, query, raw))

    def _record(self, path: str, raw: bytes) -> Request:
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            name = name.lower()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        try:
            body = json.loads(raw) if raw else None
        except (ValueError, RecursionError):  # RecursionError: nested deeper than ~1000 levels
            body = None
        try:
            attempt = int(headers.get("x-job-attempt", ""))
        except ValueError:
            attempt = None
        entry = {
            "seq": None, "time": time.time(), "path": path, "method": self.command,
            "headers": headers, "body": raw[:self.server.state.log_body_max].decode("utf-8", errors="replace"),
            "bodyBytes": len(raw),
            "jobId": headers.get("x-job-id"), "jobType": headers.get("x-job-type"),
            "attempt": attempt,
            "idempotencyKey": headers.get("idempotency-key", headers.get("x-idempotency-key")),
            "action": "pending", "status": None, "fault": None, "delayMs": 0,
            "signature": self.server.state.check_signature(raw, headers),
        }
        return Request(self.command, path, self.headers, body, self.server.state.record(entry))

    def _serve(self, request: Request) -> None:
        state = self.server.state
        rule = state.take_rule(request)
        if rule is not None:
            self._perform(request, rule.action, fault=f"rule:{rule.index}")
            return
        # Delay and chaos only hit requests the app would accept, so that 401
        # checks and wrong URLs stay deterministic.
        if access_error(state, request) is None:
            self._sleep(request, state.draw_delay_ms())
            fault = state.draw_chaos()
            if fault is not None:
                self._perform(request, fault, fault="chaos")
                return
        self._answer(request)

    def _answer(self, request: Request, compress: bool = False) -> None:
        """The normal app behaviour, optionally gzip-encoded."""
        status, payload = app_answer(self.server.state, request)
        body, headers = encode_json(payload), {}
        if compress and accepts_gzip(request.headers.get("Accept-Encoding")):
            body, headers = gzip.compress(body), {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
            self.server.state.update(request.entry, action="gzip")
        else:
            self.server.state.update(request.entry, action="ok")
        self._send(request, status, body, headers)

    def _sleep(self, request: Request, milliseconds: float) -> None:
        if milliseconds > 0:
            self.server.state.update(request.entry, delayMs=round(milliseconds, 3))
            time.sleep(milliseconds / 1000)

    # -- fault injection --

    def _perform(self, request: Request, action: dict[str, Any], fault: str) -> None:
        self.server.state.update(request.entry, fault=fault)
        if "delay_ms" in action:
            self._sleep(request, float(action["delay_ms"]))
        kind = action_kind(action)
        if kind is None:
            self._answer(request)
            return
        if kind != "gzip":  # _answer names gzip answers itself ("ok" when not compressed)
            self.server.state.update(request.entry, action=kind)
        # Dispatch to the _fault_<kind> method below.
        getattr(self, f"_fault_{kind}")(request, action)

    def _fault_status(self, request: Request, action: dict[str, Any]) -> None:
        status = action["status"]
        self.server.state.update(request.entry, action=f"status:{status}")
        body = action.get("body")
        if body is None:
            body = {"error": f"injected {status}"}
        encoded = body.encode() if isinstance(body, str) else encode_json(body)
        self._send(request, status, encoded, action.get("headers"))

    def _fault_redirect(self, request: Request, action: dict[str, Any]) -> None:
        status = action.get("status", 307)
        self.server.state.update(request.entry, action=f"redirect:{status}")
        self._send(request, status, encode_json({"redirect": action["redirect"]}),
                   {"Location": action["redirect"]})

    def _fault_hang(self, request: Request, action: dict[str, Any]) -> None:
        self._wait_for_hangup(min(float(action["hang"]), MAX_FAULT_SECONDS))
        self.close_connection = True

    def _fault_drop(self, request: Request, action: dict[str, Any]) -> None:
        if action["drop"] == "mid":
            self._start(request, 200, {"Content-Type": "application/json", "Content-Length": 1000})
            self.wfile.write(b'{"success"')  # 10 of the promised 1000 bytes
        # Set only now, so that _start does not announce the close.
        self.close_connection = True

    def _fault_big_body(self, request: Request, action: dict[str, Any]) -> None:
        pad = max(0, action["big_body"] - len(BIG_BODY_PREFIX) - len(BIG_BODY_SUFFIX))
        length = len(BIG_BODY_PREFIX) + pad + len(BIG_BODY_SUFFIX)
        self._start(request, 200, {"Content-Type": "application/json", "Content-Length": length})
        self.wfile.write(BIG_BODY_PREFIX)
        while pad > 0:
            self.wfile.write(PAD_CHUNK[:pad] if pad < STREAM_CHUNK else PAD_CHUNK)
            pad -= STREAM_CHUNK
        self.wfile.write(BIG_BODY_SUFFIX)

    def _fault_endless(self, request: Request, action: dict[str, Any]) -> None:
        self.close_connection = True
        self._start(request, 200, {"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
        chunk = b"%x\r\n%s\r\n" % (len(ENDLESS_CHUNK), ENDLESS_CHUNK)
        deadline = time.monotonic() + MAX_FAULT_SECONDS
        # A vanished client surfaces as BrokenPipe/ConnectionReset on a write,
        # which Server.handle_error swallows.
        while time.monotonic() < deadline:
            self.wfile.write(chunk)
            time.sleep(0.1)
        self.wfile.write(b"0\r\n\r\n")

    def _fault_nonjson(self, request: Request, action: dict[str, Any]) -> None:
        self._send(request, 200, action["nonjson"].encode(), {"Content-Type": "text/plain; charset=utf-8"})

    def _fault_gzip(self, request: Request, action: dict[str, Any]) -> None:
        self._answer(request, compress=True)

    def _fault_invalid_http(self, request: Request, action: dict[str, Any]) -> None:
        self.close_connection = True
        self.wfile.write(b"garbage\r\n\r\n")

    def _wait_for_hangup(self, seconds: float) -> None:
        """Sleep up to `seconds`, returning early once the client closes the
        connection, so abandoned hangs do not pin threads for minutes."""
        poller = select.poll()  # not select.select: fds may exceed FD_SETSIZE under load
        poller.register(self.connection, select.POLLIN)
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if not poller.poll(max(1, int(left * 1000))):
                continue
            try:
                if not self.connection.recv(1, socket.MSG_PEEK):
                    return  # orderly close by the client
            except OSError:
                return  # reset by the client
            time.sleep(min(left, 0.1))  # the client sent more bytes; wait on without spinning


class Server(http.server.ThreadingHTTPServer):
    # Hung, endless and idle keep-alive connections must not delay exit:
    # neither wait for their threads nor keep track of them.
    daemon_threads = True
    block_on_close = False
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], state: AppState):
        self.state = state
        super().__init__(address, Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients going away mid-answer is routine in fault tests; no traceback.
        if not isinstance(sys.exc_info()[1], CONNECTION_ERRORS):
            super().handle_error(request, client_address)


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

def write_port_file(path: str, port: int) -> None:
    # Readers poll for this file; os.replace makes it appear complete or not at all.
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w", encoding="ascii") as handle:
        handle.write(f"{port}\n")
    os.replace(temporary, path)


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, AppState]:
    parser = argparse.ArgumentParser(description="Stand-in for the Next.js job endpoints, "
                                                 "with fault injection (see the module docstring).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", help="default: $SUPABASE_SERVICE_ROLE_KEY, else test-token")
    parser.add_argument("--verify-signing-secret",
                        help="verify every request's Standard Webhooks signature with these whsec_ secrets")
    parser.add_argument("--port-file", help="write the bound port here (atomically)")
    parser.add_argument("--database-url", help="insert complete-pack jobs into job_queue via psql")
    parser.add_argument("--delay-ms", default="0", help="N or MIN-MAX milliseconds per app request")
    parser.add_argument("--chaos", help="e.g. 500:0.30,hang:0.10,drop:0.05,429:0.05")
    parser.add_argument("--chaos-hang-seconds", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=0, help="seed for chaos and delay draws")
    parser.add_argument("--log-body-max", type=int, default=None,
                        help="keep at most this many bytes of each body in the log (big payloads)")
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("--quiet", action="store_true", help="no per-request output (default)")
    verbosity.add_argument("--verbose", action="store_true", help="one line per request on stderr")
    args = parser.parse_args(argv)
    token = args.token or os.environ.get("SUPABASE_SERVICE_ROLE_KEY") or "test-token"
    if args.verify_signing_secret:
        try:
            import standardwebhooks  # noqa: F401  (checked now rather than on the first request)
        except ImportError:
            parser.error("--verify-signing-secret needs the standardwebhooks package: scripts/setup installs it")
    try:
        state = AppState(token=token, delay=parse_delay(args.delay_ms), chaos=args.chaos,
                         chaos_hang_seconds=_number(args.chaos_hang_seconds, "--chaos-hang-seconds"),
                         seed=args.seed, database_url=args.database_url, verbose=args.verbose,
                         verify_signing_secret=args.verify_signing_secret)
    except ConfigError as exc:
        parser.error(str(exc))
    state.log_body_max = args.log_body_max
    return args, state


def _stop(signum: int, frame: Any) -> None:
    raise SystemExit(0)  # unwinds serve_forever in the main thread


def main(argv: list[str] | None = None) -> int:
    args, state = parse_args(argv)
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    server = Server((args.host, args.port), state)
    try:
        host, port = server.server_address[:2]
        if args.port_file:
            write_port_file(args.port_file, port)
        print(f"listening on http://{host}:{port}", flush=True)
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
