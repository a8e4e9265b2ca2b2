"""Share classes, stakeholders, the equity ledger, cap table engine, rounds, SAFEs, investments, OCF."""
