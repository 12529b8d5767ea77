"""Fireside's headless core: everything the app does, with no Qt.

The GUI, the CLI and the HTTP server are all thin fronts over this package, so each capability
is testable without a display.
"""
