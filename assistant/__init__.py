"""The bot's brain, shared by Slack, the console and the scheduler: parse a request, ask the metrics layer,
return an Answer (plain data). Renderers turn Answers into Block Kit or text; handlers only glue."""
