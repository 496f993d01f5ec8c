"""An Authorizer that lets users read kernels but not change them, as an admin
might configure for observers."""

from jupyter_server.auth.authorizer import Authorizer


class ReadOnlyAuthorizer(Authorizer):
    def is_authorized(self, handler, user, action, resource):
        return action == "read" or resource != "kernels"
