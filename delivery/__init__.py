"""Delivery tooling for appstack: preview comments, promotion stage -> prod, live verification.

Run as ``python -m delivery <command>``; see ``delivery/__main__.py`` for the commands.
"""
