"""The Qt side: a player over a recorded trace, and the views that draw each step."""
