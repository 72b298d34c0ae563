"""Attacks as tests: each module is an attacker's script against one seized asset (design §10),
next to the promise it checks. A test here fails when the attack succeeds."""
