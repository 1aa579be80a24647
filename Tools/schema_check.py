#!/usr/bin/env python3
"""Validate recorded ContactLedger traffic against the JSON Schemas in Schemas/.

Usage:
    python3 Tools/schema_check.py TRAFFIC.jsonl [--schemas DIR]
    python3 Tools/schema_check.py --self-test [--schemas DIR]

TRAFFIC.jsonl holds one JSON object per line, either
    {"method": "contacts.get", "params": {...}, "result": {...}}   (or "error": {...} instead of "result")
or
    {"event": <envelope>}
Blank lines are skipped. A record is checked against Schemas/methods/<method>.schema.json (which describes the
whole record: `params`, `result`, `error`), an event against Schemas/envelope.schema.json. A record with an
`error` answer has only its error checked: its params may be wrong on purpose. Missing `params` counts as {}.

Prints one line per failure, `line N: <JSON path>: <message>`, then exactly `N passed, M failed`
(counting records); exits 1 if anything failed, 2 on usage errors.

Every file under Schemas/ is loaded into a `referencing` registry by its `$id`
(https://contactledger.local/schemas/...), so relative `$ref`s between files resolve without network access.
Requires jsonschema >= 4.18 (Tools/requirements-test.txt).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Iterator

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

BASE = "https://contactledger.local/schemas/"
DEFAULT_SCHEMAS = Path(__file__).resolve().parent.parent / "Schemas"
MAX_MESSAGE = 300

# The contract's method list (rpc-api.md), the daemon's extensions, and the notifications.
METHODS = [
    "system.health", "system.stats",
    "workspace.configure", "workspace.get", "workspace.set_locations", "workspace.locations",
    "fields.create", "fields.update", "fields.delete", "fields.list", "fields.usage",
    "groups.create", "groups.update", "groups.delete", "groups.list", "groups.members",
    "contacts.create", "contacts.get", "contacts.modify", "contacts.bulk_modify", "contacts.delete",
    "contacts.search", "contacts.count", "contacts.parse_query", "contacts.history", "contacts.as_of",
    "contacts.diff", "contacts.messages",
    "messages.receive", "messages.send",
    "audit.changes", "ledger.verify",
    "events.read", "events.subscribe", "events.unsubscribe", "events.event",
    "projections.status", "projections.rebuild", "projections.verify",
    "imports.start", "imports.status", "exports.start", "exports.status",
    # Beyond the contract: served by the daemon and documented here.
    "system.methods", "ledger.backup", "events.error",
]
EVENT_TYPES = [
    "contact_created", "contact_name_changed", "contact_language_changed", "contact_status_changed",
    "contact_field_changed", "contact_urns_changed", "contact_groups_changed", "msg_received", "msg_created",
    "contact_deleted", "workspace_configured", "field_created", "field_updated", "field_deleted",
    "group_created", "group_updated", "group_deleted", "group_evaluated", "locations_set",
]


class Schemas:
    """All schema documents under a directory, with a registry and cached validators."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.documents: dict[str, tuple[Path, dict]] = {}
        problems = []
        for path in sorted(root.rglob("*.json")):
            if path.name == "openrpc.json":
                continue  # the OpenRPC document generated from these schemas (Tools/generate-openrpc.py)
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as error:
                problems.append(f"{path}: cannot read: {error}")
                continue
            uri = doc.get("$id") if isinstance(doc, dict) else None
            if not isinstance(uri, str):
                problems.append(f"{path}: no $id")
                continue
            if uri in self.documents:
                problems.append(f"{path}: duplicate $id {uri} (also {self.documents[uri][0]})")
                continue
            self.documents[uri] = (path, doc)
        if problems:
            raise SystemExit("schema_check: " + "\n".join(problems))
        self.registry: Registry = Registry().with_resources(
            (uri, Resource.from_contents(doc, default_specification=DRAFT202012))
            for uri, (_, doc) in self.documents.items()
        ).crawl()
        self._validators: dict[str, Draft202012Validator] = {}

    def validator(self, uri: str) -> Draft202012Validator | None:
        if uri not in self._validators:
            if uri not in self.documents:
                return None
            self._validators[uri] = Draft202012Validator(
                self.documents[uri][1], registry=self.registry,
                format_checker=Draft202012Validator.FORMAT_CHECKER)
        return self._validators[uri]

    def method_uri(self, method: str) -> str:
        return f"{BASE}methods/{method}.schema.json"


def leaf(error: ValidationError) -> ValidationError:
    """The most specific cause of an error from a combinator (oneOf/anyOf…), for a useful path."""
    while error.context:
        # Prefer the deepest cause; at equal depth, one that is not a bare type mismatch (so that
        # `anyOf: [{object…}, {type: null}]` reports the object's problem, not "is not of type 'null'").
        depth = max(len(e.absolute_path) for e in error.context)
        candidates = [e for e in error.context if len(e.absolute_path) == depth]
        specific = [e for e in candidates if e.validator != "type"] or candidates
        deeper = best_match(specific)
        if deeper is None:
            break
        error = deeper
    return error


def describe(error: ValidationError) -> str:
    message = error.message
    if error.validator == "not" and error.validator_value in ({}, True):
        # `{"not": {}}` marks a member that must be absent in this context.
        message = "member not allowed here"
        if error.schema.get("description"):
            message += f" ({error.schema['description']})"
    if len(message) > MAX_MESSAGE:
        message = message[:MAX_MESSAGE] + "…"
    return f"{error.json_path}: {message}"


def check_record(schemas: Schemas, record: Any) -> list[str]:
    """Failure descriptions for one traffic record (empty when it is valid)."""
    if not isinstance(record, dict):
        return ["$: a record must be a JSON object"]
    if "event" in record:
        validator = schemas.validator(f"{BASE}envelope.schema.json")
        instance = record["event"]
        prefix = "$.event"
        problems = []
        for error in sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path))):
            text = describe(leaf(error))
            problems.append(prefix + text[1:] if text.startswith("$") else text)
        return problems
    method = record.get("method")
    if not isinstance(method, str):
        return ["$: a record needs a string `method` or an `event`"]
    validator = schemas.validator(schemas.method_uri(method))
    if validator is None:
        return [f"$.method: no schema for method {method!r}"]
    instance = dict(record)
    if "error" in instance:
        # Only the error answer is checked: a refused call's params may be invalid on purpose.
        instance.pop("params", None)
    else:
        instance.setdefault("params", {})
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))
    return [describe(leaf(error)) for error in errors]


def iter_lines(path: str) -> Iterator[tuple[int, str]]:
    stream = sys.stdin if path == "-" else open(path, encoding="utf-8")
    try:
        for number, line in enumerate(stream, start=1):
            if line.strip():
                yield number, line
    finally:
        if stream is not sys.stdin:
            stream.close()


def check_traffic(schemas: Schemas, path: str) -> int:
    passed = failed = 0
    for number, line in iter_lines(path):
        try:
            record = json.loads(line)
        except ValueError as error:
            problems = [f"$: invalid JSON: {error}"]
        else:
            problems = check_record(schemas, record)
        if problems:
            failed += 1
            for problem in problems:
                print(f"line {number}: {problem}")
        else:
            passed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


# ------------------------------------------------------------------------------------------------ self-test
U1 = "5e4b3f1a-8c2d-4e6f-9a0b-1c2d3e4f5a6b"
U2 = "0f0e0d0c-0b0a-4908-8706-050403020100"
TS = "2026-11-25T09:30:00.123456Z"
H0 = "0" * 64
H1 = "ab" * 32


def contact(**overrides: Any) -> dict:
    base = {"uuid": U1, "id": 17, "name": "Ben Haggerty", "language": "eng", "status": "active",
            "urns": ["tel:+250788123123", "whatsapp:250788123123"],
            "groups": [{"uuid": U2, "name": "Customers"}],
            "fields": {"age": {"text": "23", "number": 23},
                       "joined": {"text": "2026-01-02", "datetime": "2026-01-02T00:00:00.000000+02:00"},
                       "nickname": None},
            "created_on": TS, "modified_on": TS, "last_seen_on": None, "version": 4}
    base.update(overrides)
    return base


def envelope(type_: str, data: Any, **overrides: Any) -> dict:
    stream = f"contact/{U1}" if type_.startswith(("contact_", "msg_")) else "workspace/main"
    base = {"seq": 1, "id": U2, "stream": stream, "version": 1, "type": type_, "schema_version": 1,
            "workspace": "main", "created_on": TS, "actor": "admin@example.com",
            "peer": {"uid": 1000, "gid": 1000, "pid": 4242}, "data": data, "hash": H1, "prev_hash": H0}
    base.update(overrides)
    return base


def without(mapping: dict, key: str) -> dict:
    return {k: v for k, v in mapping.items() if k != key}


VALID: list[tuple[str, dict]] = [
    ("health", {"method": "system.health", "params": {}, "result": {"status": "ok", "version": "1.0.0", "head_seq": 0, "uptime_s": 1.5}}),
    ("health without params", {"method": "system.health", "result": {"status": "ok", "version": "1", "head_seq": 3, "uptime_s": 0}}),
    ("create contact", {"method": "contacts.create",
                        "params": {"name": "Ben", "urns": ["tel:+250788123123"], "fields": {"age": "23"}, "idempotency_key": "k1"},
                        "result": dict(contact(), seq=5)}),
    ("anonymous contact", {"method": "contacts.get", "params": {"uuid": U1.upper(), "workspace": "anon"},
                           "result": contact(name="E2E6MX", ref="E2E6MX", urns=["tel:********"])}),
    ("get by urn", {"method": "contacts.get", "params": {"urn": "tel:+250788123123"}, "result": contact()}),
    ("modify", {"method": "contacts.modify",
                "params": {"uuid": U1, "expected_version": 4, "actor": "a@b.c", "modifiers": [
                    {"type": "name", "name": ""}, {"type": "field", "field": "age", "value": None},
                    {"type": "urns", "action": "append", "urns": ["tel:+1"]},
                    {"type": "groups", "action": "add", "groups": [U2]},
                    {"type": "status", "status": "blocked"}, {"type": "language", "language": "FRA"}]},
                "result": dict(contact(version=9), seq=12)}),
    ("bulk modify", {"method": "contacts.bulk_modify", "params": {"query": "age > 20", "modifiers": [{"type": "status", "status": "archived"}]},
                     "result": {"matched": 3, "changed": 2, "seq": 40}}),
    ("search", {"method": "contacts.search", "params": {"query": "name ~ ben", "sort": "-created_on", "limit": 10, "as_of": {"seq": 7}},
                "result": {"contacts": [contact()], "total": 1, "next_cursor": None, "query": "name ~ \"ben\""}}),
    ("history", {"method": "contacts.history", "params": {"uuid": U1, "after": "2026-01-01T00:00:00+02:00", "types": ["contact_name_changed"]},
                 "result": {"items": [{"seq": 3, "type": "contact_name_changed", "created_on": TS, "actor": None, "peer": None,
                                       "data": {"name": "Ben"}}], "next_cursor": "abc"}}),
    ("diff", {"method": "contacts.diff", "params": {"uuid": U1, "from": {"seq": 0}, "to": TS},
              "result": {"changes": {"name": {"before": None, "after": "Ben"}, "fields.age": {"before": None, "after": {"text": "23", "number": 23}}}}}),
    ("groups list", {"method": "groups.list", "params": {},
                     "result": {"groups": [{"uuid": U2, "name": "Customers", "query": None, "status": "ready", "count": 2},
                                           {"uuid": U1, "name": "Adults", "query": "age >= 18", "status": "evaluating", "count": 0}]}}),
    ("fields create", {"method": "fields.create", "params": {"key": "age", "type": "number"},
                       "result": {"key": "age", "name": "Age", "type": "number", "featured": False, "priority": 0, "seq": 2}}),
    ("receive", {"method": "messages.receive", "params": {"urn": "tel:0788 123 123", "text": "hi", "channel": "android"},
                 "result": {"contact": contact(), "created_contact": True, "seq": 9,
                            "message": {"uuid": U2, "direction": "in", "urn": "tel:+250788123123", "text": "hi",
                                        "channel": "android", "visibility": "visible", "created_on": TS}}}),
    ("verify ok", {"method": "ledger.verify", "params": {}, "result": {"verified": True, "head_seq": 10, "head_hash": H1}}),
    ("verify broken", {"method": "ledger.verify", "params": {"from_seq": 1}, "result": {"verified": False, "broken_seq": 4, "head_seq": 10}}),
    ("error answer", {"method": "contacts.delete", "params": {"uuid": "not-a-uuid"},
                      "error": {"code": -32003, "message": "contact is active", "data": {"reason": "contact_active", "status": "active"}}}),
    ("version conflict", {"method": "contacts.modify", "params": {"uuid": U1, "modifiers": []},
                          "error": {"code": -32002, "message": "version mismatch", "data": {"reason": "version_mismatch", "actual_version": 5}}}),
    ("events.read", {"method": "events.read", "params": {"after_seq": 0, "limit": 2},
                     "result": {"items": [envelope("field_created", {"key": "age", "name": "Age", "type": "number"})], "next_cursor": None}}),
    ("notification", {"method": "events.event", "params": {"subscription": "s1", "event": envelope("contact_status_changed", {"status": "stopped"})}}),
    ("event created", {"event": envelope("contact_created", {"uuid": U1, "id": 1, "name": None, "language": None, "status": "active", "urns": []},
                                         idempotency_key="k1")}),
    ("event field changed", {"event": envelope("contact_field_changed", {"field": {"key": "age", "name": "Age"}, "value": {"text": "x"}})}),
    ("event groups", {"event": envelope("contact_groups_changed", {"groups_removed": [{"uuid": U2, "name": "Customers"}]})}),
    ("event msg", {"event": envelope("msg_received", {"msg": {"uuid": U2, "urn": "tel:+1234567", "text": "hi", "channel": None, "visibility": "archived"}})}),
    ("event msg created", {"event": envelope("msg_created", {"msg": {"uuid": U2, "urn": None, "text": "hello", "channel": None}})}),
    ("event erased", {"event": envelope("contact_name_changed", None, erased=True)}),
    ("event configured", {"event": envelope("workspace_configured", {"default_country": None, "date_format": "DD-MM-YYYY"})}),
    ("event locations", {"event": envelope("locations_set", {"hierarchy": {"name": "Rwanda", "children": [{"name": "Kigali City", "aliases": ["Kigali"]}]}})}),
]

INVALID: list[tuple[str, dict]] = [
    ("unknown method", {"method": "contacts.frobnicate", "params": {}, "result": {}}),
    ("health wrong status", {"method": "system.health", "params": {}, "result": {"status": "bad", "version": "1", "head_seq": 0, "uptime_s": 0}}),
    ("undocumented param", {"method": "contacts.get", "params": {"uuid": U1, "bogus": 1}, "result": contact()}),
    ("get with both uuid and urn", {"method": "contacts.get", "params": {"uuid": U1, "urn": "tel:+1"}, "result": contact()}),
    ("command result without seq", {"method": "contacts.create", "params": {}, "result": contact()}),
    ("contact missing version", {"method": "contacts.get", "params": {"uuid": U1}, "result": without(contact(), "version")}),
    ("bad timestamp", {"method": "contacts.get", "params": {"uuid": U1}, "result": contact(created_on="2026-11-25T09:30:00Z")}),
    ("bad status", {"method": "contacts.get", "params": {"uuid": U1}, "result": contact(status="deleted")}),
    ("field value without text", {"method": "contacts.get", "params": {"uuid": U1}, "result": contact(fields={"age": {"number": 3}})}),
    ("bad modifier", {"method": "contacts.modify", "params": {"uuid": U1, "modifiers": [{"type": "status", "status": "gone"}]},
                      "result": dict(contact(), seq=1)}),
    ("modifier extra member", {"method": "contacts.modify", "params": {"uuid": U1, "modifiers": [{"type": "name", "name": "x", "urns": []}]},
                               "result": dict(contact(), seq=1)}),
    ("idempotency key too long", {"method": "fields.delete", "params": {"key": "age", "idempotency_key": "k" * 129}, "result": {"key": "age", "seq": 1}}),
    ("expected_version on a non-contact command", {"method": "fields.delete", "params": {"key": "age", "expected_version": 1}, "result": {"key": "age", "seq": 1}}),
    ("limit too big", {"method": "groups.members", "params": {"uuid": U2, "limit": 1001}, "result": {"items": [], "next_cursor": None}}),
    ("paged list without next_cursor", {"method": "groups.members", "params": {"uuid": U2}, "result": {"items": []}}),
    ("result and error", {"method": "system.health", "params": {}, "result": {"status": "ok", "version": "1", "head_seq": 0, "uptime_s": 0},
                          "error": {"code": -32603, "message": "x", "data": {"reference": "r"}}}),
    ("unknown error code", {"method": "system.health", "error": {"code": -32099, "message": "x", "data": {}}}),
    ("error data shape", {"method": "contacts.modify", "error": {"code": -32602, "message": "bad", "data": {"reason": "x"}}}),
    ("event unknown type", {"event": envelope("contact_teleported", {})}),
    ("event bad hash", {"event": envelope("contact_status_changed", {"status": "active"}, hash="AB" * 32)}),
    ("event wrong data", {"event": envelope("contact_status_changed", {"status": "active", "extra": 1})}),
    ("event null data not erased", {"event": envelope("contact_status_changed", None)}),
    ("event erased with data", {"event": envelope("contact_status_changed", {"status": "active"}, erased=True)}),
    ("event stream kind", {"event": envelope("field_deleted", {"key": "age"}, stream=f"contact/{U1}")}),
    ("event seq 0", {"event": envelope("field_deleted", {"key": "age"}, seq=0)}),
    ("event groups empty", {"event": envelope("contact_groups_changed", {})}),
    ("event msg_received without visibility", {"event": envelope("msg_received", {"msg": {"uuid": U2, "urn": "tel:+1", "text": "hi", "channel": None}})}),
    ("event country lowercase", {"event": envelope("workspace_configured", {"default_country": "rw"})}),
    ("history item data by type", {"method": "contacts.history", "params": {"uuid": U1},
                                   "result": {"items": [{"seq": 3, "type": "contact_status_changed", "created_on": TS, "actor": None,
                                                         "peer": None, "data": {"status": "nope"}}], "next_cursor": None}}),
    ("events.read bad envelope", {"method": "events.read", "params": {}, "result": {"items": [envelope("field_deleted", {})]}}),
]


def walk_refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from walk_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk_refs(value)


def self_test(schemas: Schemas) -> int:
    failures: list[str] = []
    # 1. every file is a valid draft 2020-12 schema with an $id under BASE matching its path
    for uri, (path, doc) in sorted(schemas.documents.items()):
        if doc.get("$schema") != "https://json-schema.org/draft/2020-12/schema":
            failures.append(f"{path}: $schema is not draft 2020-12")
        expected = BASE + path.relative_to(schemas.root).as_posix()
        if uri != expected:
            failures.append(f"{path}: $id {uri} should be {expected}")
        try:
            Draft202012Validator.check_schema(doc)
        except Exception as error:  # SchemaError
            failures.append(f"{path}: not a valid 2020-12 schema: {getattr(error, 'message', error)}")
    # 2. every $ref resolves through the registry
    for uri, (path, doc) in sorted(schemas.documents.items()):
        resolver = schemas.registry.resolver(base_uri=uri)
        for ref in sorted(set(walk_refs(doc))):
            if ref.startswith("#"):
                continue  # checked when used; local pointers depend on the enclosing resource
            try:
                resolver.lookup(ref)
            except Exception as error:
                failures.append(f"{path}: $ref {ref!r} does not resolve: {error}")
    # 3. a schema for every method and event type of the contract
    for method in METHODS:
        if schemas.method_uri(method) not in schemas.documents:
            failures.append(f"missing schema for method {method}")
    for type_ in EVENT_TYPES:
        if f"{BASE}events/{type_}.schema.json" not in schemas.documents:
            failures.append(f"missing schema for event type {type_}")
    # 4. examples
    for name, record in VALID:
        try:
            problems = check_record(schemas, record)
        except Exception as error:  # a broken $ref surfaces here
            problems = [f"{type(error).__name__}: {error}"]
        if problems:
            failures.append(f"valid example {name!r} was refused: " + "; ".join(problems))
    for name, record in INVALID:
        try:
            problems = check_record(schemas, record)
        except Exception as error:
            failures.append(f"invalid example {name!r} raised {type(error).__name__}: {error}")
            continue
        if not problems:
            failures.append(f"invalid example {name!r} was accepted")
    for failure in failures:
        print(failure)
    checks = len(schemas.documents) + len(VALID) + len(INVALID)
    print(f"self-test: {len(schemas.documents)} schema files, {len(VALID)} valid and {len(INVALID)} invalid examples: "
          + ("ok" if not failures else f"{len(failures)} problem(s)"))
    del checks
    return 1 if failures else 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("traffic", nargs="?", help="JSON Lines traffic file ('-' for stdin)")
    parser.add_argument("--self-test", action="store_true", help="check the schemas themselves and built-in examples")
    parser.add_argument("--schemas", type=Path, default=DEFAULT_SCHEMAS, help="schema directory (default: Schemas/)")
    args = parser.parse_args(argv)
    if not args.self_test and not args.traffic:
        parser.print_usage(sys.stderr)
        return 2
    schemas = Schemas(args.schemas.resolve())
    status = 0
    if args.self_test:
        status |= self_test(schemas)
    if args.traffic:
        status |= check_traffic(schemas, args.traffic)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
