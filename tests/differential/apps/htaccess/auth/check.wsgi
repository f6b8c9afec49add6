"""WSGIAuthUserScript for the .htaccess cases: one user, alice, password secret."""


def check_password(environ, user, password):
    if user == "alice":
        return password == "secret"
    return None
