"""The web3 bridge: the only code that imports web3. Keys per role (`keys`), the node connection (`client`), the
transaction outbox (`outbox`), the event scanner (`scanner`) and on-chain eligibility (`eligibility`)."""
