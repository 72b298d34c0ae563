"""Queue priorities, and the urgency intake sets from a report's coded answers."""

from __future__ import annotations

from incident_service.taxonomy.hierarchies import act_group

# Queue priorities, highest first. Intake sets the first four; caseworkers may set any of them
# (and LOW) on the case page. The queue sorts by priority, then newest day received.
PRIORITY_DETAINED = 4  # someone is still detained
PRIORITY_CHILDREN = 3  # children are involved
PRIORITY_VIOLENCE = 2  # violence was used
PRIORITY_NORMAL = 1
PRIORITY_LOW = 0


def urgency(*, outcome: str | None, acts: list[str], children: bool) -> int:
    """Queue priority computed at intake: still detained, then children involved, then
    violence, then everything else (the order the issue asks the queue to follow)."""
    if outcome == "DET":
        return PRIORITY_DETAINED
    if children:
        return PRIORITY_CHILDREN
    if any(act_group(code) == "VIO" for code in acts):
        return PRIORITY_VIOLENCE
    return PRIORITY_NORMAL
