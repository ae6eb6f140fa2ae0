"""One router per resource; ``app/api.py`` mounts them."""
