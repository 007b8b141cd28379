"""django-oauth-toolkit as a second real OAuth 2.0 / OpenID Connect server for the
cliauth interop tests (tests/harness/tests/django.rs), started on 127.0.0.1.

Installed from PyPI into a virtualenv under target/ by `cargo xtask` (see
xtask/src/django.rs). Nothing here is a mock: the authorization, token, device,
revocation, userinfo and discovery endpoints are django-oauth-toolkit's own views,
with Django's login form in front of them.

Usage: python server.py DATA_DIR
Prints one JSON line once listening:
  {"issuer": ..., "port": ..., "username": ..., "password": ...,
   "clients": {"code": ID, "device": ID, "consent": ID,
               "secret": {"id": ID, "secret": S}}}
and serves until stdin closes (so the server never outlives the test).
"""

import json
import os
import sys
import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

DATA_DIR = sys.argv[1]
HERE = os.path.dirname(os.path.abspath(__file__))



class Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 64


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        if os.environ.get("CLIAUTH_INTEROP_DEBUG"):
            super().log_message(*args)


# Bind first: the issuer names the port.
server = Server(("127.0.0.1", 0), QuietHandler)
PORT = server.server_port
BASE = f"http://127.0.0.1:{PORT}"
ISSUER = f"{BASE}/o"

key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KEY_PEM = key.private_bytes(
    serialization.Encoding.PEM,
    serialization.PrivateFormat.PKCS8,
    serialization.NoEncryption(),
).decode()

import django  # noqa: E402
from django.conf import settings  # noqa: E402

settings.configure(
    DEBUG=False,
    SECRET_KEY=os.urandom(32).hex(),
    ALLOWED_HOSTS=["127.0.0.1"],
    INSTALLED_APPS=[
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.sessions",
        "django.contrib.staticfiles",
        "oauth2_provider",
    ],
    MIDDLEWARE=[
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ],
    ROOT_URLCONF="urls",
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.path.join(DATA_DIR, "db.sqlite3"),
        }
    },
    TEMPLATES=[
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "DIRS": [os.path.join(HERE, "templates")],
            "APP_DIRS": True,
            "OPTIONS": {
                "context_processors": [
                    "django.template.context_processors.request",
                    "django.contrib.auth.context_processors.auth",
                ]
            },
        }
    ],
    STATIC_URL="/static/",
    LOGIN_URL="/accounts/login/",
    USE_TZ=True,
    # Server errors go to stderr (the tests show it with CLIAUTH_INTEROP_DEBUG=1).
    LOGGING={
        "version": 1,
        "handlers": {"stderr": {"class": "logging.StreamHandler"}},
        "loggers": {"django.request": {"handlers": ["stderr"], "level": "ERROR"}},
    },
    PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],  # test speed
    # Cookies on 127.0.0.1 are shared across ports: names of our own.
    SESSION_COOKIE_NAME="dot_sessionid",
    CSRF_COOKIE_NAME="dot_csrftoken",
    OAUTH2_PROVIDER={
        "OIDC_ENABLED": True,
        "OIDC_RSA_PRIVATE_KEY": KEY_PEM,
        "OIDC_ISS_ENDPOINT": ISSUER,
        "PKCE_REQUIRED": True,
        "ROTATE_REFRESH_TOKEN": True,
        "REFRESH_TOKEN_REUSE_PROTECTION": True,
        "SCOPES": {"openid": "OpenID Connect", "read": "Read", "write": "Write"},
        "DEFAULT_SCOPES": ["read"],
        "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
        "DEVICE_FLOW_INTERVAL": 1,
        "OAUTH_DEVICE_VERIFICATION_URI": f"{BASE}/o/device/",
        "OAUTH_DEVICE_VERIFICATION_URI_COMPLETE": BASE + "/o/device/?user_code={user_code}",
        # RFC 9207 `iss` in authorization responses, advertised in the metadata; no
        # `plain` PKCE.
        "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
        "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    },
)

# The URL configuration, as a module named `urls`.
import types  # noqa: E402

urls = types.ModuleType("urls")
sys.modules["urls"] = urls
django.setup()

from django.contrib.auth import views as auth_views  # noqa: E402
from django.urls import include, path  # noqa: E402
import oauth2_provider.urls as dot_urls  # noqa: E402

urls.urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    # RFC 8414 path-component form for the issuer `/o`, at the server root.
    path("", include((dot_urls.metadata_urlpatterns, "oauth2_provider_metadata"))),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
]

from django.core.management import call_command  # noqa: E402

call_command("migrate", verbosity=0, interactive=False)

from django.contrib.auth.models import User  # noqa: E402
from oauth2_provider.models import Application  # noqa: E402

USERNAME, PASSWORD = "alice", "correct horse battery staple"
user = User.objects.create_user(USERNAME, "alice@example.test", PASSWORD)


def app(client_id, grant, client_type="public", secret="", skip=True):
    a = Application(
        name=client_id,
        client_id=client_id,
        client_type=client_type,
        authorization_grant_type=grant,
        # RFC 8252 §7.3: DOT accepts any port for a loopback IP redirect.
        redirect_uris="http://127.0.0.1/callback",
        skip_authorization=skip,
        user=user,
        algorithm=Application.RS256_ALGORITHM,
    )
    if secret:
        a.client_secret = secret
    a.save()
    return a


app("cliauth-code", Application.GRANT_AUTHORIZATION_CODE)
app("cliauth-device", Application.GRANT_DEVICE_CODE)
# The user sees the toolkit's consent form for this one.
app("cliauth-consent", Application.GRANT_AUTHORIZATION_CODE, skip=False)
SECRET = "s3cr3t-" + os.urandom(8).hex()
app("cliauth-secret", Application.GRANT_AUTHORIZATION_CODE, "confidential", SECRET)

from django.core.wsgi import get_wsgi_application  # noqa: E402

server.set_app(get_wsgi_application())
threading.Thread(target=server.serve_forever, daemon=True).start()

print(
    json.dumps(
        {
            "issuer": ISSUER,
            "port": PORT,
            "username": USERNAME,
            "password": PASSWORD,
            "clients": {
                "code": "cliauth-code",
                "device": "cliauth-device",
                "consent": "cliauth-consent",
                "secret": {"id": "cliauth-secret", "secret": SECRET},
            },
        }
    ),
    flush=True,
)
sys.stdin.read()
server.shutdown()
