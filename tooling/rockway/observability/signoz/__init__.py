"""SigNoz: the dashboards, alert rules and downtime windows kept in the repository (assets) and installing them (push)."""
