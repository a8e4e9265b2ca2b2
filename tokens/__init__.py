"""Tokens, crowdsales, allowlists, purchases, token warrants; tokens/chain/ is the only code that imports web3."""
