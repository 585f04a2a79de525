"""Storing normalised intake: new leads, merges into existing ones, accounts and quarantine.

Set-based (DESIGN.md principle 1): one batch is read in a few queries (the leads and accounts its
emails and domains already have), merged in plain Python (so in-file duplicates and merges into
existing leads give the same leads and `changed` lists as one row at a time), and written in a
few statements. On PostgreSQL the leads and their history go through COPY (new leads into a
temporary table, then `INSERT … SELECT … ON CONFLICT (email) DO UPDATE`; merged ones with one
`UPDATE … FROM`); on SQLite through `executemany`. Lists of emails and domains are bound as one
array (`= ANY(:values)`), never as thousands of parameters, so a prepared statement keeps a good
plan.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any, Iterable, Iterator

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection
from sqlmodel import Session

from leadrelay.bulk import copy_rows, is_one_of, naive_utc_text, raw
from leadrelay.db import dialect_insert
from leadrelay.history import append_history, history_row
from leadrelay.intake.normalise import MULTILINE_FIELDS, NUMBER_FIELDS, TEXT_FIELDS, LeadInput, Rejected
from leadrelay.models import Account, Lead, QuarantineEntry
from leadrelay.models.types import EmailStatus, Stage, Tier

# Mail providers whose domain says nothing about the lead's company.
FREE_MAIL_DOMAINS = frozenset(
    "gmail.com googlemail.com yahoo.com hotmail.com outlook.com live.com aol.com icloud.com me.com "
    "gmx.de gmx.net web.de proton.me protonmail.com yandex.ru mail.ru qq.com 163.com".split()
)

# The lead columns intake writes: what a row may set, and what a new lead starts with.
FIELD_COLUMNS = (*TEXT_FIELDS, *MULTILINE_FIELDS, *NUMBER_FIELDS, "consent")
NEW_LEAD_DEFAULTS = {"stage": Stage.new.value, "email_status": EmailStatus.ok.value, "fit_score": 0,
                     "engagement_score": 0, "score_total": 0, "tier": Tier.cold.value, "score_breakdown": []}
INSERT_COLUMNS = ("email", *FIELD_COLUMNS, "attributes", "list_kind", "account_id", "needs_scoring",
                  "created_at", "updated_at", *NEW_LEAD_DEFAULTS)


@dataclass(frozen=True)
class IntakeItem:
    result: LeadInput | Rejected
    raw: str  # the input as it arrived, kept for quarantine
    origin: str  # where it came from, e.g. "leads.csv line 7" or "form:contact-us"


@dataclass
class IntakeCounts:
    created: int = 0
    merged: int = 0
    quarantined: int = 0

    def add(self, other: "IntakeCounts") -> None:
        self.created += other.created
        self.merged += other.merged
        self.quarantined += other.quarantined


def account_domain(lead: LeadInput) -> str | None:
    """The company domain a lead belongs to: the column, else its email's domain unless free mail."""
    domain = (lead.fields.get("company_domain") or "").lower().removeprefix("www.").strip(" /")
    if domain:
        return domain
    email_domain = lead.email.rsplit("@", 1)[1]
    return None if email_domain in FREE_MAIL_DOMAINS else email_domain


def store_intake(session: Session, items: list[IntakeItem], as_of: datetime, actor: str,
                 list_kind: str = "internal", flow_run_id: str | None = None) -> IntakeCounts:
    """Create or merge a lead for every accepted item and quarantine every rejected one."""
    counts = IntakeCounts()
    session.flush()  # whatever the caller added through the ORM is written before we read with Core
    connection = session.connection()
    quarantine = [
        {"at": as_of, "source": item.origin, "reason": item.result.reason, "raw": item.raw}
        for item in items
        if isinstance(item.result, Rejected)
    ]
    if quarantine:
        connection.execute(insert(QuarantineEntry.__table__), quarantine)
        counts.quarantined = len(quarantine)

    accepted = [item for item in items if isinstance(item.result, LeadInput)]
    if not accepted:
        return counts
    existing = _existing_leads(connection, {item.result.email for item in accepted})
    accounts = _accounts_for(session, connection, {account_domain(item.result) for item in accepted} - {None}, as_of)

    # email -> the lead as it will be written; leads new to the database have no "id".
    states: dict[str, dict[str, Any]] = {}
    events: list[tuple[str, str, dict[str, Any]]] = []
    for item in accepted:
        data: LeadInput = item.result
        detail = {"origin": item.origin, "source": data.fields.get("source"), "list": list_kind}
        if data.cleaned:
            detail["cleaned"] = list(data.cleaned)
        state = states.get(data.email)
        if state is None and data.email in existing:
            state = states[data.email] = existing[data.email]
        if state is None:
            domain = account_domain(data)
            state = {"email": data.email, **dict.fromkeys(FIELD_COLUMNS), **data.fields,
                     "attributes": dict(data.attributes), "list_kind": list_kind,
                     "account_id": accounts[domain] if domain else None, "needs_scoring": True,
                     "created_at": as_of, "updated_at": as_of, **NEW_LEAD_DEFAULTS, "score_breakdown": []}
            states[data.email] = state
            counts.created += 1
            events.append((data.email, "intake", detail))
        else:
            detail["changed"] = _merge(state, data, as_of)
            counts.merged += 1
            events.append((data.email, "intake_merged", detail))

    new = [state for state in states.values() if "id" not in state]
    merged = [state for state in states.values() if "id" in state]
    write = _write_postgresql if connection.dialect.name == "postgresql" else _write_sqlite
    ids = write(connection, new, merged)
    ids.update((state["email"], state["id"]) for state in merged)
    append_history(session, [history_row(ids[email], kind, actor, as_of, detail, flow_run_id=flow_run_id)
                             for email, kind, detail in events])
    return counts


def _merge(state: dict[str, Any], data: LeadInput, as_of: datetime) -> list[str]:
    """A later fill updates the fields it has values for; returns the names that changed."""
    changed = []
    for name, value in data.fields.items():
        if state[name] != value:
            state[name] = value
            changed.append(name)
    attributes = state["attributes"]
    new_attributes = {**attributes, **data.attributes}
    if new_attributes != attributes:
        changed.extend(sorted(k for k in data.attributes if attributes.get(k) != data.attributes[k]))
        state["attributes"] = new_attributes
    state["needs_scoring"] = True
    state["updated_at"] = as_of
    return changed


def _existing_leads(connection: Connection, emails: set[str]) -> dict[str, dict[str, Any]]:
    lead = Lead.__table__
    columns = [lead.c.id, lead.c.email, *(lead.c[name] for name in FIELD_COLUMNS), lead.c.attributes]
    rows = connection.execute(select(*columns).where(is_one_of(connection, lead.c.email, emails)))
    return {row.email: dict(row._mapping) for row in rows}


def _accounts_for(session: Session, connection: Connection, domains: set[str], as_of: datetime) -> dict[str, int]:
    if not domains:
        return {}
    account = Account.__table__
    query = select(account.c.domain, account.c.id).where(is_one_of(connection, account.c.domain, domains))
    found = dict(connection.execute(query).all())
    missing = sorted(domains - found.keys())
    if missing:
        statement = dialect_insert(session, account).on_conflict_do_nothing(index_elements=["domain"])
        connection.execute(statement, [{"domain": domain, "created_at": as_of} for domain in missing])
        query = select(account.c.domain, account.c.id).where(is_one_of(connection, account.c.domain, set(missing)))
        found.update(connection.execute(query).all())
    return found


def _write_sqlite(connection: Connection, new: list[dict[str, Any]], merged: list[dict[str, Any]]) -> dict[str, int]:
    lead = Lead.__table__
    if merged:
        names = (*FIELD_COLUMNS, "attributes", "needs_scoring", "updated_at")
        statement = (update(lead).where(lead.c.id == bindparam("v_id"))
                     .values({name: bindparam(f"v_{name}", type_=lead.c[name].type) for name in names}))
        connection.execute(statement, [{"v_id": state["id"], **{f"v_{name}": state[name] for name in names}}
                                       for state in merged])
    if not new:
        return {}
    # A plain insert, as before: should another writer add one of these emails between the read
    # and here, the batch fails whole and rolls back (nothing half-written).
    connection.execute(insert(lead), [{name: state[name] for name in INSERT_COLUMNS} for state in new])
    emails = {state["email"] for state in new}
    return dict(connection.execute(select(lead.c.email, lead.c.id).where(is_one_of(connection, lead.c.email, emails))).all())


def _write_postgresql(connection: Connection, new: list[dict[str, Any]], merged: list[dict[str, Any]]) -> dict[str, int]:
    ids: dict[str, int] = {}
    if merged:
        columns = ("id", *FIELD_COLUMNS, "attributes", "updated_at")
        _temp_table(connection, "_intake_merged", columns)
        copy_rows(connection, "_intake_merged", columns, _lead_tuples(merged, columns))
        sets = ", ".join(f"{name} = m.{name}" for name in (*FIELD_COLUMNS, "attributes", "updated_at"))
        raw(connection, f"UPDATE lead SET {sets}, needs_scoring = true FROM _intake_merged m WHERE lead.id = m.id")
        raw(connection, "DROP TABLE _intake_merged")
    if new:
        columns = ("ord", *INSERT_COLUMNS)
        _temp_table(connection, "_intake_new", columns)
        for ord_, state in enumerate(new):
            state["ord"] = ord_
        copy_rows(connection, "_intake_new", columns, _lead_tuples(new, columns))
        insert_list = ", ".join(INSERT_COLUMNS)
        # ON CONFLICT: should another import add one of these emails between the read and here, the
        # row merges into that lead (its values win where it has them) instead of failing the batch;
        # its event then says `intake`, not `intake_merged`.
        sets = ", ".join(f"{name} = COALESCE(excluded.{name}, lead.{name})" for name in FIELD_COLUMNS)
        rows = raw(connection,
                    f"INSERT INTO lead ({insert_list}) SELECT {insert_list} FROM _intake_new ORDER BY ord "
                    f"ON CONFLICT (email) DO UPDATE SET {sets}, attributes = lead.attributes || excluded.attributes, "
                    f"needs_scoring = true, updated_at = excluded.updated_at RETURNING email, id")
        ids.update(rows)
        raw(connection, "DROP TABLE _intake_new")
    return ids


def _temp_table(connection: Connection, name: str, columns: tuple[str, ...]) -> None:
    """An empty temporary table with `columns` typed as lead's (and `ord` an integer), no constraints."""
    select_list = ", ".join("0::integer AS ord" if column == "ord" else column for column in columns)
    raw(connection, f"CREATE TEMP TABLE {name} ON COMMIT DROP AS SELECT {select_list} FROM lead WITH NO DATA")


def _json(value: Any) -> str:
    return json.dumps(value) if value else ("{}" if isinstance(value, dict) else "[]")


# How COPY gets the values that are not plain text, numbers or booleans.
_COPY_VALUE = {"attributes": _json, "score_breakdown": _json, "created_at": naive_utc_text, "updated_at": naive_utc_text}


def _lead_tuples(states: Iterable[dict[str, Any]], columns: tuple[str, ...]) -> Iterator[list[Any]]:
    """Each state as a row for COPY in `columns` order (one C-level lookup per row, then the few
    columns that need converting)."""
    values_of = itemgetter(*columns)
    converted = [(index, _COPY_VALUE[name]) for index, name in enumerate(columns) if name in _COPY_VALUE]
    for state in states:
        values = list(values_of(state))
        for index, convert in converted:
            values[index] = convert(values[index])
        yield values
