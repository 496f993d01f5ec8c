"""A JupyterHub service that shows every user's active sessions in one place.

Each single-user server runs this extension; the service lists the running
servers through the Hub's REST API and reads each one's
`api/active-sessions` through the proxy, with its own token (`fleet.py`).
`service.py` serves the result to admins (Hub OAuth). Start it as a managed
service: `python -m jupyter_session_ext.hub` (README, "JupyterHub").
"""
