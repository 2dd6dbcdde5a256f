"""Scheduled e-mail reports (issue 15 point 7): per analyst and site, weekly or monthly.

store.py       schedules and the send log in ClickHouse (claims make a send happen once)
periods.py     which complete week or month a report covers
content.py     the figures (the same panels the API serves) as text, HTML and CSV attachments
mail.py        the message and the SMTP conversation (settings COLLECTOR_SMTP_*)
scheduler.py   what is due, sending it, and the collector's background task
web.py         the reports page, its JSON API and the signed unsubscribe link
"""
