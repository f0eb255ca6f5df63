"""Entry point of the appstack component provider (PulumiPlugin.yaml): see appstack.provider."""

from appstack.provider import serve

if __name__ == "__main__":
    serve()
