"""Limiters: at most so many requests in flight to URLs starting with a prefix."""
