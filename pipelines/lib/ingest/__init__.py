"""The pipeline's way in: the inbox and archive (inbox.py) and loading checked files (load.py)."""
