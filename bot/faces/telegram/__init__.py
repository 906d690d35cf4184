"""The Telegram face: the application and its handlers, /follow, rate limiting, the typed bot state."""
