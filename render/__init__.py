"""Pure renderers: data in, Block Kit / text / PNG out."""
