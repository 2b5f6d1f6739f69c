"""The sandbox marketplace (SPEC §7): a local HTTP server speaking the Walmart and Amazon contracts
of CONTRACTS.md, with state, validation like the real APIs, a control API, fault injection and a
record of every request. It imports nothing from the rest of the project."""
