"""A JupyterHub service that shows every user's active sessions in one place.

Each single-user server runs this extension. The service lists the running
servers through the Hub's REST API with its own token (`hub_api.py`, the only
place that token is sent), reads each one's `api/active-sessions` through
the proxy with a token of that server's own user (`user_tokens.py`), and
shapes what each server answers into known types before anything reads it
(`answers.py`); `fleet.py` gathers, `service.py` serves the result to admins
(Hub OAuth). Start it as a managed service: `python -m jupyter_session_ext.hub`
(docs/operators/jupyterhub.md).
"""
