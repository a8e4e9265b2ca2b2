"""KYC applications and documents, the review queue, screening, investment limits, and the audit log."""
