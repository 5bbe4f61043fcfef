"""What operators watch: Prometheus metrics (ops.telemetry) and the log format (ops.logs). Every layer may import
these; they import nothing of the bot's."""
