"""Simulated agents for the demo: they log in at their seats in progressive mode, go ready, after
every call save a wrap-up note like a person would, and at the end of the shift finish their call
and its note and log out (over the same HTTP API the desktop uses)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from dataclasses import dataclass, field

import httpx

log = logging.getLogger("dialer.demo")

NOT_REACHED = {"no_answer": "no_answer", "busy": "busy", "rejected": "rejected", "failed": "not_in_service",
               "voicemail": "voicemail", "canceled": "no_answer", "missed": "no_answer"}
VOICEMAIL_NOTE = {"disposition": "no_contact", "contact_status": "voicemail",
                  "result": "转入语音信箱，未留言（留言不得提及欠款）", "next_action": "按节奏继续拨打"}


@dataclass
class Shift:
    notes: int = 0
    promises: int = 0
    errors: list[str] = field(default_factory=list)


def wrap_up_for(call: dict, case: dict, rng: random.Random, *, today: dt.date, machine: bool = False) -> dict:
    """A plausible note for the call: what an agent would write after it. ``machine``: the agent
    heard a voicemail greeting (the carrier reports a machine's answer as answered: the service does
    not ask it to detect answering machines)."""
    party = next((p for p in case["parties"] if p["id"] == call["party_id"]), None)
    if call["outcome"] == "answered" and machine:
        return dict(VOICEMAIL_NOTE)
    if call["outcome"] != "answered" or party is None:
        status = NOT_REACHED.get(call["outcome"] or "", "no_answer")
        return {"disposition": "no_contact", "contact_status": status, "next_action": "按节奏继续拨打"}
    name = party["name"]
    if party["role"] == "third_party":
        if rng.random() < 0.15:
            return {"disposition": "third_party_stop", "contact_status": "third_party_reached", "contact_name": name,
                    "reason": "第三方表示与债务无关，要求不再来电"}
        return {"disposition": "third_party_message", "contact_status": "third_party_reached", "contact_name": name,
                "result": "已请其转告债务人尽快回电", "next_action": "次日再联系债务人"}
    if rng.random() < 0.45:
        return {"disposition": "promise_to_pay", "contact_status": "debtor_reached", "contact_name": name,
                "arrears_reason": rng.choice(("收入下降", "生意周转困难", "忘记还款日")),
                "result": "承诺按期全额还款", "recovery_likelihood": "high",
                "promise": {"amount": case["total_owed"], "due_date": (today + dt.timedelta(days=7)).isoformat()},
                "next_follow_up_date": (today + dt.timedelta(days=7)).isoformat()}
    return {"disposition": "refused", "contact_status": "debtor_reached", "contact_name": name,
            "arrears_reason": "失业", "result": "拒绝还款，称暂无能力", "recovery_likelihood": "low",
            "next_action": "三日后再跟进", "next_follow_up_date": (today + dt.timedelta(days=3)).isoformat()}


async def work_shift(base_url: str, username: str, password: str, seat_id: int, *, stop: asyncio.Event,
                     shift: Shift, seed: int, today: dt.date, machines: frozenset[str] = frozenset()) -> None:
    """Work until ``stop`` is set, then finish the call and its note, go not ready (end of shift)
    and log out. ``machines``: the numbers a voicemail answers (what the agent would hear)."""
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=base_url, timeout=15.0) as http:
        login = await http.post("/v1/auth/token", json={"username": username, "password": password})
        login.raise_for_status()
        http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        (await http.post("/v1/agent/session", json={"seat_id": seat_id, "mode": "progressive"})).raise_for_status()
        (await http.post("/v1/agent/state", json={"state": "ready"})).raise_for_status()
        while True:
            me = (await http.get("/v1/agent/session")).json()
            state, call_id = me.get("state"), me.get("current_call_id")
            if state == "wrap_up" and call_id:
                await asyncio.sleep(rng.uniform(0.2, 0.8))  # typing the note
                await _note(http, call_id, shift, rng, today=today, last=stop.is_set(), machines=machines)
                continue
            if stop.is_set() and state == "ready":
                await http.post("/v1/agent/state", json={"state": "not_ready", "reason": "end_of_shift"})
                continue
            if stop.is_set() and state == "not_ready":
                # Refused only when a call reached the agent meanwhile: then it is worked first.
                if (await http.delete("/v1/agent/session")).status_code == 200:
                    return
            await asyncio.sleep(0.15)


async def _note(http: httpx.AsyncClient, call_id: int, shift: Shift, rng: random.Random, *, today: dt.date,
                last: bool, machines: frozenset[str]) -> None:
    call = (await http.get(f"/v1/calls/{call_id}")).json()
    case = (await http.get(f"/v1/cases/{call['case_id']}")).json()
    body = wrap_up_for(call, case, rng, today=today, machine=call.get("to_e164") in machines)
    if last:
        body |= {"next_state": "not_ready", "not_ready_reason": "end_of_shift"}
    saved = await http.post(f"/v1/calls/{call_id}/wrap-up", json=body)
    if saved.status_code == 201:
        shift.notes += 1
        shift.promises += body["disposition"] == "promise_to_pay"
        return
    shift.errors.append(f"call {call_id}: {saved.status_code} {saved.text[:200]}")
    fallback = {"disposition": "no_contact", "contact_status": "no_answer", "special_notes": "自动补记"}
    if last:
        fallback |= {"next_state": "not_ready", "not_ready_reason": "end_of_shift"}
    await http.post(f"/v1/calls/{call_id}/wrap-up", json=fallback)
