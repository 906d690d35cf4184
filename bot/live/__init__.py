"""Live: standing questions (their store, the pushes new articles answer) and the runner that
watches the folder. Imports `bot.ranking`, `index` and `bot.config`; faces deliver the pushes.
"""
