"""Alert lifecycle (lifecycle.py) and delivery (notify.py)."""
