"""The appstack program: read the stack's settings once, build the platform, export its outputs."""

import pulumi

from appstack.platform import build_platform
from appstack.preflight import open_tunnel, preflight
from appstack.settings import SettingsError, read_settings

try:
    settings = read_settings()
    if settings.target == "docker":
        preflight(settings.docker.target)  # a remote engine answers, before anything is declared
        if settings.docker.tunnel:  # its services through SSH forwards, until the program exits
            tunnel = open_tunnel(
                settings.docker.target,
                settings.docker.connect_address,
                settings.network.bind_address,
                settings.host_ports.values(),
            )
    platform = build_platform("appstack", settings)
except SettingsError as error:
    # A user's mistake: one clear message listing every bad key, no traceback.
    raise pulumi.RunError(str(error)) from None

for key, value in platform.outputs.items():
    pulumi.export(key, value)
