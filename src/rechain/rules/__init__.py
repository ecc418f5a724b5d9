"""The chain's behavioural rules as small pure functions over arrays.

``ordering`` (anchoring and adjustment, production planning), ``market`` (supplier choice,
filling, indices, holding back), ``pricing`` (the balance multiple, price adjustment, the
marginal-cost anchor, asks, producers' pace and storage) and ``sentiment`` (expectations and
uncertainty).
Each is unit-tested on hand-worked cases; the week's phases wire them.
"""
