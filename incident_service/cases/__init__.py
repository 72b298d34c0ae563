"""The caseworker's workspace: the queue, the case view, triage, events, messages, export and
deletion, with the pages (`views`) beside the logic they call."""
