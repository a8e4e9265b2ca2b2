"""The cap table engine: plain Python, exact arithmetic, no Django.

- ``rounding``: the rounding rules, written down once (shares down, price to 4 places, cents).
- ``holdings``: share classes, positions, outstanding and fully diluted holdings.
- ``convertibles``: SAFEs and notes, interest (actual/365), most-favoured-nation terms.
- ``proforma``: a priced round's pro-forma with conversions and the option pool shuffle, solved exactly.
- ``waterfall``: who receives what at an exit, in cents that add up exactly.
"""
