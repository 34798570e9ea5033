"""Command-line interface: the only place that imports click and rich and sets up the OpenTelemetry SDK.

main.py assembles the command modules, importing each when its command runs or is listed; they never import it
(what needs the root command takes it from the click context). Commands import the wings they call (and rich)
inside the command, so that `rockway --help` and every command start without loading the wings they do not use.
"""
