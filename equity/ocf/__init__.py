"""Open Cap Format (OCF): export a company's cap table as an OCF package and import one.

`validation` checks files against the official JSON schemas vendored in `schema/` (never fetched);
`package` reads and writes the zip; `selectors` builds the package from the ledger; `services` writes an
imported package into an empty cap table.
"""
