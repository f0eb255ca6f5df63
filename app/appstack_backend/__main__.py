"""`python -m appstack_backend`: serve the app with uvicorn on HOST:PORT from the environment."""

from __future__ import annotations

import uvicorn

from appstack_backend.main import create_app
from appstack_backend.settings import Settings


def main() -> None:
    settings = Settings.from_env()
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
