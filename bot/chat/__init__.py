"""Chat: what any face says. Request parsing, reply texts, the one command table, rendering
(Telegram HTML, plain text, JSON). Imports `bot.ranking` and `index`, never a face or live.
"""
