"""Loading the synthetic demo reports through the one intake path, once, and the `seed` command.

Each demo report has a fixed submission token, so a second run finds them already there and
files nothing. The pipeline is nudged once at the end rather than once per report.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import click
from flask import current_app
from flask.cli import with_appcontext

from incident_service.cases.messaging import post_message
from incident_service.constants import MessageAuthor
from incident_service.crypto.receipts import format_receipt, receipt_from_token
from incident_service.intake.storage import find_by_submission_token, submit_report
from incident_service.intake.validation import parse_report
from incident_service.models import Report, db, today
from incident_service.pipeline import dispatch
from seeds.demo_reports import DEFAULT_COUNT, SYNTHETIC_MARKER, demo_reports
from seeds.staff import credentials_path, load_demo_accounts

# Reports that get a question from the case team, so the status page has something to show.
# The question is in the language of its report, as a caseworker would write it: an English
# question on a Russian page (issue 13) is not what a reporter would ever see.
DEMO_THREADS = 3
DEMO_QUESTIONS: dict[str, str] = {
    "en": (
        f"{SYNTHETIC_MARKER} Hello, this is the case team. Are you still held? "
        "Is there a number where a lawyer can reach you?"
    ),
    "ru": (
        "[ВЫМЫШЛЕННОЕ ДЕМО-ОБРАЩЕНИЕ — не настоящий случай] Здравствуйте, это команда, которая "
        "ведёт ваше обращение. Вас всё ещё удерживают? Есть ли номер, по которому с вами может "
        "связаться юрист?"
    ),
    "tg": (
        "[МУРОҶИАТИ НАМОИШИИ ТАХАЙЮЛӢ — ҳодисаи воқеӣ нест] Салом, ин гурӯҳест, ки бо муроҷиати "
        "шумо кор мекунад. Оё шуморо ҳоло ҳам нигоҳ доштаанд? Оё рақаме ҳаст, ки ҳуқуқшинос бо "
        "шумо тамос гирад?"
    ),
    "uz": (
        "[OʻYLAB TOPILGAN NAMUNAVIY MUROJAAT — haqiqiy holat emas] Assalomu alaykum, bu "
        "murojaatingiz bilan ishlayotgan guruh. Sizni hali ham ushlab turishibdimi? Advokat siz "
        "bilan bogʻlanishi mumkin boʻlgan raqam bormi?"
    ),
    "ky": (
        "[ОЙДОН ЧЫГАРЫЛГАН ДЕМО-КАЙРЫЛУУ — чыныгы окуя эмес] Саламатсызбы, бул сиздин "
        "кайрылууңуз менен иштеген топ. Сизди дагы эле кармап турушабы? Юрист сиз менен "
        "байланыша турган номер барбы?"
    ),
}
DEMO_QUESTION = DEMO_QUESTIONS["en"]


class SeedingRefused(Exception):
    """Synthetic reports must never mix with real ones."""


@dataclass
class SeedResult:
    created: int = 0
    already_there: int = 0
    demo_receipts: list[str] = field(default_factory=list)


def load_demo_reports(*, count: int = DEFAULT_COUNT) -> SeedResult:
    """File the demo reports that are not there yet; commit each (intake does)."""
    settings = current_app.extensions["incident_config"]
    if settings.is_production:
        raise SeedingRefused("synthetic demo reports are never loaded in production")
    reports = demo_reports(count=count, today=today())
    pepper = current_app.extensions["incident_keys"].require_pepper()
    result = SeedResult(
        demo_receipts=[receipt_from_token(demo.token, pepper) for demo in reports[:DEMO_THREADS]]
    )
    if reports and find_by_submission_token(reports[-1].token) is not None:
        result.already_there = len(reports)
        return result
    for demo in reports:
        outcome = submit_report(
            parse_report(demo.payload),
            submission_token=demo.token,
            received_on=demo.received_on,
            nudge=False,
        )
        if not outcome.created:
            result.already_there += 1
            continue
        result.created += 1
        if demo.index < DEMO_THREADS:
            report = db.session.get(Report, outcome.report_id)
            assert report is not None
            question = DEMO_QUESTIONS.get(demo.payload.get("language"), DEMO_QUESTION)
            post_message(report, author=MessageAuthor.CASEWORKER, text=question)
            db.session.commit()
    if result.created:
        dispatch.nudge_pipeline()
    return result


def last_finished_quarter(day: dt.date) -> str:
    """The quarter before `day`'s, e.g. "2026-Q3" on 2026-12-03: it lies inside the demo data."""
    year, quarter = day.year, (day.month - 1) // 3
    if quarter == 0:
        year, quarter = year - 1, 4
    return f"{year}-Q{quarter}"


@click.command("seed")
@click.option("--count", default=DEFAULT_COUNT, show_default=True, help="How many reports.")
@with_appcontext
def seed_command(count: int) -> None:
    """Load synthetic demo reports once (refused in production)."""
    try:
        result = load_demo_reports(count=count)
    except SeedingRefused as exc:
        raise click.ClickException(str(exc)) from None
    if result.created:
        click.echo(f"loaded {result.created} SYNTHETIC demo reports (invented, not real cases)")
    else:
        click.echo(f"synthetic demo reports already loaded ({result.already_there}); nothing to do")
    if result.demo_receipts:
        click.echo("receipts of demo reports with a question from the case team (try /status):")
        for receipt in result.demo_receipts:
            click.echo(f"  {format_receipt(receipt)}")
    quarter = last_finished_quarter(today())
    click.echo(
        "the demo reports describe the twelve months before today; a release to try:\n"
        f"  incident-service summaries generate --period {quarter}"
    )
    demo_accounts, _ = load_demo_accounts()
    click.echo(
        "demo staff accounts (log in at /login; add the TOTP secret to any authenticator app, "
        "or run\n`oathtool --totp -b SECRET`; caseworker and supervisor then unlock their key "
        "with the passphrase):"
    )
    for account in demo_accounts:
        passphrase = f"  passphrase {account.passphrase}" if account.passphrase else ""
        click.echo(
            f"  {account.role.value:<11} {account.email:<26} password {account.password}"
            f"  TOTP secret {account.totp_secret}{passphrase}"
        )
    click.echo(f"  (kept in {credentials_path()})")
