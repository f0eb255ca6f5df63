"""Stack states written before appstack became a package name this module's provider class.

See `components/bucket.py`: the engine unpickles the provider stored in the state to refresh or
delete a resource, so stacks deployed before the move to `appstack.pgvector` need this name.
"""

from appstack.pgvector import PgvectorExtensionProvider

__all__ = ["PgvectorExtensionProvider"]
