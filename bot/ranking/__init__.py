"""Ranking: answer() and what it is made of (features, the fitted model in ranking.json, the
question's time frame, answer cues, quotes) and its evaluation. Imports only `index`.
"""
