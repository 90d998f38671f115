"""A real OpenID Connect provider on loopback for the single sign-on tests.

It serves discovery, authorize (approves at once as `provider.user` and redirects back with a code),
token (an RS256 id_token signed with a key made here), JWKS and userinfo, over real HTTP in a thread.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

CLIENT_ID = "tiski-test"
CLIENT_SECRET = "s3cret-for-tests"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int_b64(number: int) -> str:
    return _b64(number.to_bytes((number.bit_length() + 7) // 8, "big"))


@dataclass
class Grant:
    claims: dict[str, Any]
    nonce: str
    redirect_uri: str


@dataclass
class OidcProvider:
    """The provider's state: who logs in next, the signing key, the codes and tokens handed out."""

    user: dict[str, Any] = field(default_factory=dict)
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    published_key: rsa.RSAPrivateKey | None = None  # set to another key to publish a JWKS that does not match
    kid: str = "test-key-1"
    audience: str = CLIENT_ID
    grants: dict[str, Grant] = field(default_factory=dict)
    access_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    base_url: str = ""

    def id_token(self, *, claims: dict[str, Any], nonce: str) -> str:
        now = int(time.time())
        header = {"alg": "RS256", "typ": "JWT", "kid": self.kid}
        payload = {"iss": self.base_url, "aud": self.audience, "iat": now, "exp": now + 300, "nonce": nonce}
        payload |= {"sub": claims["sub"], "email": claims.get("email")}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}".encode()
        signature = self.key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input.decode()}.{_b64(signature)}"

    def jwks(self) -> dict[str, Any]:
        public = (self.published_key or self.key).public_key().public_numbers()
        jwk = {
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": _int_b64(public.n),
            "e": _int_b64(public.e),
        }
        return {"keys": [jwk]}

    def endpoints(self) -> dict[str, str]:
        return {
            "issuer": self.base_url,
            "authorization_endpoint": f"{self.base_url}/authorize",
            "token_endpoint": f"{self.base_url}/token",
            "userinfo_endpoint": f"{self.base_url}/userinfo",
            "jwks_uri": f"{self.base_url}/jwks",
        }


class _Handler(BaseHTTPRequestHandler):
    provider: OidcProvider

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/.well-known/openid-configuration":
            self._json(
                200,
                self.provider.endpoints()
                | {"response_types_supported": ["code"], "id_token_signing_alg_values_supported": ["RS256"]},
            )
        elif url.path == "/jwks":
            self._json(200, self.provider.jwks())
        elif url.path == "/authorize":
            if (
                query.get("client_id") != CLIENT_ID
                or query.get("response_type") != "code"
                or "openid" not in query.get("scope", "").split()
            ):
                self._json(400, {"error": "invalid_request"})
                return
            code = secrets.token_urlsafe(16)
            self.provider.grants[code] = Grant(dict(self.provider.user), query.get("nonce", ""), query["redirect_uri"])
            self.send_response(302)
            self.send_header(
                "Location", f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
            )
            self.end_headers()
        elif url.path == "/userinfo":
            token = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            claims = self.provider.access_tokens.get(token)
            if claims is None:
                self._json(401, {"error": "invalid_token"})
            else:
                self._json(200, claims)
        else:
            self._json(404, {"error": "not_found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if urlsplit(self.path).path != "/token":
            self._json(404, {"error": "not_found"})
            return
        self.provider.token_requests.append(form)
        grant = self.provider.grants.pop(form.get("code", ""), None)
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            self._json(401, {"error": "invalid_client"})
        elif grant is None or form.get("redirect_uri") != grant.redirect_uri:
            self._json(400, {"error": "invalid_grant"})
        else:
            access = secrets.token_urlsafe(24)
            self.provider.access_tokens[access] = grant.claims
            id_token = self.provider.id_token(claims=grant.claims, nonce=grant.nonce)
            self._json(200, {"access_token": access, "id_token": id_token, "token_type": "Bearer", "expires_in": 300})


class ProviderServer:
    """Run an OidcProvider on 127.0.0.1 on a free port until stopped."""

    def __init__(self) -> None:
        self.provider = OidcProvider()
        handler = type("Handler", (_Handler,), {"provider": self.provider})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.provider.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> OidcProvider:
        self.thread.start()
        return self.provider

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
