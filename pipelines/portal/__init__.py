"""The departments' reporting portal (报送平台): log in, see what is owed, upload, get the receipt, explain.

A FastAPI application (one router per area, authorisation as a dependency of every route) that calls
the one validation core (pipelines/lib/submissions/check.py) and writes accepted files into
raw/inbox/<department_code>/, where the pipeline takes them. It reads the published snapshot only.
"""
