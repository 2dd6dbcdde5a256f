"""A report as an e-mail (text and HTML alternatives, CSV attachments, one-click unsubscribe headers)
and the SMTP conversation, with the COLLECTOR_SMTP_* settings (Python's smtplib; STARTTLS or TLS
verify the server's certificate with the system's trust store)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import urlparse

from collector.core.errors import ConfigError
from collector.core.settings import Settings
from dashboards.reports.content import Report

SMTP_TIMEOUT_S = 30


def sender(settings: Settings) -> str:
    """COLLECTOR_SMTP_FROM, else analytics@ the public URL's host."""
    return settings.smtp_from or f"analytics@{urlparse(settings.public_url).hostname or 'localhost'}"


def message(report: Report, text: str, html: str, settings: Settings) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = report.subject
    msg["From"] = sender(settings)
    msg["To"] = report.schedule.email
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=sender(settings).rpartition("@")[2] or None)
    msg["List-Unsubscribe"] = f"<{report.unsubscribe_url}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    stem = f"{report.site.id}-{report.first.isoformat()}-{report.last.isoformat()}"
    for section in report.sections:
        msg.add_attachment(section.csv.encode(), maintype="text", subtype="csv", filename=f"{section.panel}-{stem}.csv")
    return msg


def send(msg: EmailMessage, settings: Settings) -> None:
    """Deliver over SMTP (blocking). Raises OSError / smtplib.SMTPException when it does not go through."""
    if not settings.smtp_host:
        raise ConfigError("COLLECTOR_SMTP_HOST is not set: reports cannot be sent")
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if settings.smtp_security == "ssl":
        smtp = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_S, context=context)
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_S)
    with smtp:
        if settings.smtp_security == "starttls":
            smtp.starttls(context=context)
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.send_message(msg)
