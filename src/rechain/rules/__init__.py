"""The chain's behavioural rules as small pure functions over arrays.

``ordering`` (anchoring and adjustment, production planning), ``market`` (asks, supplier
choice, filling, indices, holding back) and ``sentiment`` (expectations and uncertainty).
Each is unit-tested on hand-worked cases; the week's phases wire them.
"""
