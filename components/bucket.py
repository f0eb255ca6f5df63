"""State written before appstack became a package names `components.bucket.BucketProvider`.

The engine keeps each dynamic resource's provider pickled in the state, by module path, and
unpickles that copy to refresh or delete the resource. Stacks deployed before the move to
`appstack.bucket` still need this name, importable from the project directory (where the
provider process starts), for as long as their state holds a bucket last created or updated
before the move: an unchanged resource keeps its old pickled provider. Not part of the package.
"""

from appstack.bucket import BucketProvider

__all__ = ["BucketProvider"]
