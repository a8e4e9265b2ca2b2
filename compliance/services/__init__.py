"""Compliance services: the audit log (used by every app) and the KYC review (`compliance.services.kyc`)."""

from compliance.services.audit import audit_record, model_changes

__all__ = ["audit_record", "model_changes"]
