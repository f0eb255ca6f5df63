"""appstack's policies: pure rules over a neutral resource view, run by the Pulumi policy pack
(``pulumi preview --policy-pack policies``) and by the engine-less check (``policies.evaluate``).

Importing this package never starts the policy server; only running ``policies/__main__.py``
as the pack's program does.
"""
