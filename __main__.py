"""The appstack program: read the stack's settings once, build the platform, export its outputs."""

import pulumi

from appstack.platform import Platform
from appstack.preflight import preflight
from appstack.settings import SettingsError, read_settings

try:
    settings = read_settings()
    preflight(settings.docker.target)  # a remote engine answers, before anything is declared
    platform = Platform("appstack", settings)
except SettingsError as error:
    # A user's mistake: one clear message listing every bad key, no traceback.
    raise pulumi.RunError(str(error)) from None

for key, value in platform.outputs.items():
    pulumi.export(key, value)
