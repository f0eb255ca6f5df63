"""The appstack program: read the stack's settings once, build the platform, export its outputs."""

import pulumi

from components.platform import Platform
from components.settings import SettingsError, read_settings

try:
    settings = read_settings()
except SettingsError as error:
    # A user's mistake: one clear message listing every bad key, no traceback.
    raise pulumi.RunError(str(error)) from None

platform = Platform("appstack", settings)
for key, value in platform.outputs.items():
    pulumi.export(key, value)
