"""Command-line interface: the only place that imports click and rich and sets up the OpenTelemetry SDK."""
