"""Faces: the `newsbot` CLI, the console and the Telegram bot. The only room that imports
click or telegram; may import chat, live, ranking, index.
"""
