"""Analyst dashboards served under /dashboard by the collector app (issue 5)."""
