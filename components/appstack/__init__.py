"""appstack's component resources, one module per concept, and the settings they are built from.

Kept free of imports: `components.migrate` runs under the deploying machine's plain Python.
"""
