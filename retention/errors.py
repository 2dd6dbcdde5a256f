"""Why the retention job stops, and the exit code a scheduler sees for each.

    RetentionError          storage unreachable, admin endpoint refused (exit 4)
    └── PolicyViolation     rows older than policy remain, or an erasure left rows (exit 3)

Exit 0 means the job did what was asked and verification found nothing older than policy;
exit 2 is a usage error (argparse).
"""

from __future__ import annotations

from collector.core.errors import CollectorError

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_POLICY_VIOLATION = 3
EXIT_STORAGE = 4


class RetentionError(CollectorError):
    exit_code = EXIT_STORAGE


class PolicyViolation(RetentionError):
    exit_code = EXIT_POLICY_VIOLATION
