"""The retention job: enforce and verify expiry, answer GDPR export and erase requests (issue 6)."""
