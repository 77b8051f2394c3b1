"""The bundled lifecycles follow the provider documents: names, final flags, histories."""

from __future__ import annotations

import pytest

from statemachine import bundled_dir, load_registry
from statemachine.model.definition import Definition, EvidenceKind
from statemachine.runtime import AcknowledgementStatus, IllegalTransition, lifecycle
from tests.seeds import lower_rows, pipe_rows, section, seed, transfer_outcomes, upper_names

REGISTRY = load_registry([bundled_dir()])
TABLE = "StatusFinal?What it meansWhat to do next"


def machine(name: str) -> Definition:
    return REGISTRY.machines[name]


def assert_table(name: str, rows: dict[str, str]) -> None:
    """Every documented status is in the machine, spelled exactly, with the same final flag."""
    d = machine(name)
    assert rows, "the seed table was not found"
    for status, final in rows.items():
        if final in ("Yes", "No"):
            assert status in d.states, (name, status)
            assert d.states[status].final == (final == "Yes"), (name, status)
        elif final == "API acknowledgement":
            assert status in d.acknowledgements and status not in d.states, (name, status)
        elif final == "Legacy active equivalent":
            assert d.aliases[status].state == "active", (name, status)
        else:
            raise AssertionError(final)


def test_dialnexa_call_table():
    rows = lower_rows(section(seed("000"), TABLE, "Call Status Groups"))
    assert len(rows) == 11
    assert_table("dialnexa.call", rows)


def test_dialnexa_recipient_call_table_agrees():
    rows = pipe_rows(section(seed("001"), "Recipient Call Statuses", "Retry Controls"))
    assert len(rows) == 11
    assert_table("dialnexa.call", rows)


@pytest.mark.parametrize("prefix", ["000", "001"])
def test_dialnexa_batch_table(prefix):
    text = seed(prefix)
    if prefix == "000":
        lines = section(text, TABLE, "Batch Campaign Counters", after="Batch Call Statuses")
        rows = lower_rows(lines, ("Yes", "No", "API acknowledgement"))
    else:
        lines = section(text, "Batch Call Statuses", "Recipient Call Statuses")
        rows = pipe_rows(lines)
    assert set(rows) >= {
        "draft",
        "active",
        "running",
        "paused",
        "completed",
        "cancelled",
        "initiated",
    }
    assert_table("dialnexa.batch", rows)


def test_dialnexa_workflow_and_lead_tables():
    text = seed("000")
    finals = ("Yes", "No", "Legacy active equivalent")
    workflow = lower_rows(
        section(text, TABLE, "Workflow Lead Statuses", after="Workflow Statuses"), finals
    )
    assert set(workflow) == {"draft", "active", "paused", "completed", "cancelled", "running"}
    assert_table("dialnexa.workflow", workflow)
    lead = lower_rows(
        section(text, TABLE, "Workflow Voice Call Routing Statuses", after="Workflow Lead Statuses")
    )
    assert set(lead) == {"pending", "active", "completed", "dropped"}
    assert_table("dialnexa.workflow_lead", lead)


def test_dialnexa_transfer_outcomes_and_legs():
    text = seed("000")
    outcomes = transfer_outcomes()
    assert len(outcomes) == 11
    transfer = machine("dialnexa.transfer")
    for status in outcomes:
        assert transfer.states[status].final, status
    legs = section(text, "Leg statusMeaning", "Other Operational Statuses")
    leg = machine("dialnexa.transfer_leg")
    names = [line.split("The")[0].split("A representative")[0].split("This")[0] for line in legs]
    assert names[0] == "dialing or dialed"
    assert leg.resolve("dialing") == leg.resolve("dialed") == "dialing"
    for name in names[1:]:
        assert name in leg.states, name
    assert len(names) == 11
    # the documents name only outcomes: every other state is inferred and never reported
    for state in transfer.states.values():
        assert (state.name in outcomes) is state.final is state.reported, state.name
    assert set(outcomes) == set(transfer.final_states)


def test_dialnexa_other_operational_statuses():
    lines = section(seed("000"), "ObjectStatusMeaning", "Status Debugging")
    objects = {
        "Phone number": "dialnexa.phone_number",
        "Phone rental": "dialnexa.phone_rental",
        "Integration connection": "dialnexa.integration_connection",
        "Integration invocation": "dialnexa.integration_invocation",
    }
    seen = 0
    for line in lines:
        for prefix, name in objects.items():
            if line.startswith(prefix):
                rest = line[len(prefix) :]
                assert any(rest.startswith(s) for s in machine(name).states), line
                seen += 1
    assert seen == 11
    sentiment = machine("dialnexa.call").mappings["sentiment"]
    assert set(sentiment.labels) == {"positive", "neutral", "negative", "unknown"}
    assert dict(sentiment.entries) == {}, "sentiment is a label set, not a lifecycle"


def test_dialnexa_end_reasons_and_routing():
    text = seed("000")
    lines = section(text, "End reasonUsually appears withMeaning", "Batch Call Statuses")
    end_reason = machine("dialnexa.call").mappings["end_reason"]
    for line in lines:
        reason = next(
            r for r in sorted(end_reason.labels, key=len, reverse=True) if line.startswith(r)
        )
        listed = line[len(reason) :]
        for status in machine("dialnexa.call").final_states:
            if listed.startswith("Any final status") or status in listed.split("The")[0]:
                assert reason in end_reason.entries[status], (reason, status)
    branch = machine("dialnexa.call").mappings["voice_call_branch"]
    assert branch.entries["completed"] == ("COMPLETED",)
    assert branch.keys_for("DNP") == ("did_not_pick", "busy")
    assert set(branch.keys_for("FAILED")) == {"failed", "no_answer"}
    assert set(branch.keys_for("Review required")) == {"cancelled", "retry_expired"}
    events = machine("dialnexa.call").mappings["runtime_event"]
    assert len(events.labels) == 13
    assert events.keys_for("hangup") == () and events.keys_for("completed") == ("completed",)


def test_recho_statuses_and_event_types():
    text = seed("002")
    outbound = upper_names(section(text, "callStatusMeaningCorresponding eventType", "note"))
    inbound = upper_names(
        section(
            text,
            "callStatusMeaningCorresponding eventType",
            "Relationship",
            after="Inbound call status",
        )
    )
    assert len(outbound) == 17 and len(inbound) == 6
    out, inn = machine("recho.outbound_call"), machine("recho.inbound_call")
    assert sorted(out.states) == sorted(outbound)
    assert sorted(inn.states) == sorted(inbound)
    events = out.mappings["eventType"].entries
    for status in (
        "LIMIT_REACHED",
        "CONNECTING",
        "CONCURRENCY_LIMIT_EXCEEDED",
        "VOICEMAIL_REACHED",
        "HEALTHCHECK_FAILED",
        "ERROR",
    ):
        assert events[status] == ("OUTBOUND_CALL_ERROR",)
    for line in section(text, "callStatusMeaningCorresponding eventType", "note"):
        status = next(s for s in outbound if line.startswith(s))
        if "OUTBOUND_CALL_" in line and "family" not in line and "Consolidated" not in line:
            assert line.endswith(events[status][0]), line


def test_kaleyra_has_28_final_statuses_exactly_spelled():
    names = upper_names(section(seed("003"), "Call StatusDescription", "\0"))
    assert len(names) == 28
    d = machine("kaleyra.call")
    for name in names:
        assert d.states[name].final, name
    inferred = [s for s in d.states.values() if s.name not in names]
    assert inferred, "the diagram's in-progress steps"
    assert all(not s.final and not s.reported for s in inferred)
    assert set(names) == set(d.final_states) == {s for s in d.states if d.states[s].reported}


def test_dialgen_statuses():
    text = seed("004")
    names = upper_names(section(text, "StatusDescription", "Checking Call Status"))
    assert names == ["SCHEDULED", "ONGOING", "COMPLETED", "MISSED", "FAILED"]
    d = machine("dialgen.call")
    assert [s for s in names if d.states[s].final] == ["COMPLETED", "MISSED", "FAILED"]
    codes = upper_names(section(text, "Error CodeDescription", "Retry Behavior"))
    assert set(codes) == set(d.mappings["error_code"].labels)
    assert "SCHEDULED" in [s.name for s in d.states.values() if "cancellable" in s.groups]
    assert set(d.settings) == {"busyDelay", "noAnswerDelay"}


LEGAL = [
    ("dialnexa.call", ["created", "initiated", "sent", "completed"]),
    ("dialnexa.call", ["created", "received", "did_not_pick"]),
    ("dialnexa.call", ["created", "cancelled"]),
    ("dialnexa.batch", ["draft", "active", "running", "paused", "active", "running", "completed"]),
    ("dialnexa.batch", ["draft", "active", "paused", "cancelled"]),
    ("dialnexa.batch", ["draft", "active", "running", "paused", "running", "cancelled"]),
    ("dialnexa.workflow", ["draft", "active", "paused", "running", "completed"]),
    ("dialnexa.workflow_lead", ["pending", "active", "dropped"]),
    ("dialnexa.transfer", ["hunting", "briefing", "bridging", "validating", "transfer_connected"]),
    ("dialnexa.transfer", ["hunting", "transfer_hunt_timeout"]),
    ("dialnexa.transfer_leg", ["dialed", "ringing", "answered", "winner", "completed"]),
    ("dialnexa.transfer_leg", ["dialing", "ringing", "answered", "cancelled"]),
    ("dialnexa.transfer_leg", ["dialing", "ringing", "answered", "winner", "cancelled"]),
    ("dialnexa.phone_rental", ["active", "expired", "available_for_reassignment"]),
    (
        "dialnexa.integration_connection",
        ["pending", "connected", "error", "connected", "disconnected"],
    ),
    ("recho.outbound_call", ["PENDING", "REQUESTED", "CALLING", "CLOSING", "COMPLETED"]),
    ("recho.outbound_call", ["PENDING", "CANCELED"]),
    ("recho.outbound_call", ["PENDING", "REQUESTED", "CALLING", "ERROR"]),
    ("recho.outbound_call", ["PENDING", "REQUESTED", "CALLING", "CLOSING", "VOICEMAIL_REACHED"]),
    ("recho.outbound_call", ["PENDING", "REQUESTED", "CALLING", "MAX_ATTEMPTS_REACHED"]),
    ("recho.inbound_call", ["CONNECTING", "CALLING", "CLOSING", "COMPLETED"]),
    ("recho.inbound_call", ["CONNECTING", "CONCURRENCY_LIMIT_EXCEEDED"]),
    (
        "kaleyra.call",
        ["pending", "queued", "channel1_dialing", "channel2_dialing", "NOANSWER_CHANNEL2"],
    ),
    ("kaleyra.call", ["pending", "incoming", "FLOW_ANSWER"]),
    ("dialgen.call", ["SCHEDULED", "ONGOING", "COMPLETED"]),
]

# direct moves only (what `advance` and `check_sequence` accept); how the verdicts treat
# missed, late and repeated deliveries is in tests/histories/ (tests/test_histories.py)
ILLEGAL = [
    # a late webhook never turns a completed call back into initiated
    ("dialnexa.call", ["created", "sent", "completed", "initiated"], 3),
    ("dialnexa.call", ["created", "sent", "initiated"], 2),
    # a cancelled campaign never resumes
    ("dialnexa.batch", ["draft", "active", "running", "cancelled", "running"], 4),
    ("dialnexa.batch", ["draft", "active", "cancelled", "active"], 3),
    ("dialnexa.batch", ["draft", "running"], 1),
    ("dialnexa.workflow", ["draft", "active", "cancelled", "active"], 3),
    ("dialnexa.workflow", ["draft", "active", "completed", "paused"], 3),
    # a completed lead never returns to active
    ("dialnexa.workflow_lead", ["pending", "active", "completed", "active"], 3),
    # a transfer leg that lost the hunt is cancelled, not bridged
    ("dialnexa.transfer_leg", ["dialing", "ringing", "answered", "cancelled", "winner"], 4),
    ("dialnexa.transfer_leg", ["dialing", "ringing", "answered", "bridge_failed"], 3),
    ("dialnexa.transfer", ["hunting", "transfer_bridge_failed"], 1),
    # CANCELED only from PENDING
    ("recho.outbound_call", ["PENDING", "REQUESTED", "CANCELED"], 2),
    ("recho.outbound_call", ["PENDING", "REQUESTED", "CALLING", "COMPLETED"], 3),
    ("recho.inbound_call", ["CONNECTING", "COMPLETED"], 1),
    ("kaleyra.call", ["pending", "queued", "dialing", "BUSY_CHANNEL2"], 3),
    ("kaleyra.call", ["pending", "incoming", "ANSWER"], 2),
    ("dialgen.call", ["SCHEDULED", "COMPLETED"], 1),
    ("dialgen.call", ["SCHEDULED", "ONGOING", "FAILED", "ONGOING"], 3),
]


@pytest.mark.parametrize(("name", "history"), LEGAL, ids=[f"{n}:{h[-1]}" for n, h in LEGAL])
def test_legal_histories(name, history):
    lc = lifecycle(name, {g: lambda e: True for g in machine(name).guards})
    assert lc.check_sequence(history) is None


@pytest.mark.parametrize(
    ("name", "history", "index"), ILLEGAL, ids=[f"{n}:{'>'.join(h[-2:])}" for n, h, _ in ILLEGAL]
)
def test_illegal_histories(name, history, index):
    lc = lifecycle(name, {g: lambda e: True for g in machine(name).guards})
    step = lc.check_sequence(history)
    assert step is not None and step.index == index
    assert isinstance(step.error, IllegalTransition)


def test_batch_initiated_is_an_acknowledgement_only():
    lc = lifecycle("dialnexa.batch", {"all_recipients_final": lambda e: True})
    with pytest.raises(AcknowledgementStatus, match="acknowledgement only"):
        lc.check("initiated", "active")


def test_batch_completes_only_when_every_recipient_is_final():
    class Campaign:
        status = "running"
        pending_calls = 3

    lc = lifecycle("dialnexa.batch", {"all_recipients_final": lambda e: e.model.pending_calls == 0})
    campaign = Campaign()
    with pytest.raises(IllegalTransition, match="all_recipients_final"):
        lc.advance(campaign, "completed")
    campaign.pending_calls = 0
    assert lc.advance(campaign, "completed").trigger == "complete"


def test_batch_retry_settings():
    lc = lifecycle("dialnexa.batch", {"all_recipients_final": lambda e: True})
    assert lc.settings_problems({"retry_count": 0, "retry_interval": 0}) == []
    assert lc.settings_problems({"retry_count": 2, "retry_interval": "10m"}) == []
    assert lc.settings_problems({"retry_count": 2, "retry_interval": 0}) == [
        "a non-zero retry_count needs a non-zero retry_interval"
    ]
    assert "retry_count must be at least 0, not -1" in lc.settings_problems({"retry_count": -1})
    assert "did you mean 'retry_count'" in lc.settings_problems({"retry_cont": 1})[0]


CALL_MACHINES = [
    "dialnexa.call",
    "recho.outbound_call",
    "recho.inbound_call",
    "kaleyra.call",
    "dialgen.call",
]


@pytest.mark.parametrize("name", CALL_MACHINES)
def test_every_final_call_state_has_a_canonical_outcome(name):
    d = machine(name)
    canonical = machine("canonical.call")
    outcome = d.mappings["outcome"]
    assert outcome.values == "canonical.call"
    for state in d.final_states:
        (label,) = outcome.entries[state]
        assert canonical.states[label].final


def test_every_state_and_transition_has_evidence():
    for d in REGISTRY.machines.values():
        for state in d.states.values():
            assert state.evidence is not None, (d.name, state.name)
        for t in d.transitions:
            assert t.evidence is not None, (d.name, t.trigger)


def test_nothing_documented_leaves_an_inferred_state():
    """A state no document names is inferred and so is every move out of it; a state the
    provider never reports is one no document names."""
    for d in REGISTRY.machines.values():
        for state in d.states.values():
            assert state.reported or state.evidence.kind is EvidenceKind.INFERRED, state.name
        for t in d.transitions:
            if d.states[t.source].evidence.kind is EvidenceKind.INFERRED:
                assert t.evidence.kind is EvidenceKind.INFERRED, (d.name, t.source, t.dest)


def test_every_canonical_outcome_is_some_provider_status():
    """The vocabulary holds no outcome that no provider status normalises to."""
    used = {
        label
        for name in CALL_MACHINES
        for labels in machine(name).mappings["outcome"].entries.values()
        for label in labels
    }
    assert used == set(machine("canonical.call").final_states)


def test_voicemail_normalises_alike_across_providers():
    """DialNexa reports voicemail inside did_not_pick ('voicemail was detected'); Recho as
    VOICEMAIL_REACHED: one real outcome, one canonical outcome."""
    did_not_pick = machine("dialnexa.call").mappings["outcome"].entries["did_not_pick"]
    assert "voicemail was detected" in machine("dialnexa.call").states["did_not_pick"].description
    recho = machine("recho.outbound_call").mappings["outcome"].entries["VOICEMAIL_REACHED"]
    assert did_not_pick == recho
