"""``enqueue``'s keyword arguments, as ``requests`` takes them, turned into how the engine
sends one request: its URL (with ``params``), method, headers, body, timeout and redirect
limit.

Taken: ``params``, ``headers``, ``cookies``, ``data``, ``json``, ``auth`` (a ``(user,
password)`` pair: Basic), ``allow_redirects``, ``timeout`` (seconds; a ``(connect, read)``
pair bounds the whole request by their sum) and ``verify=True``. Anything else is a
``TypeError`` that names it.
"""

import base64
import json as jsonlib
import re
from urllib.parse import urlencode, urlsplit, urlunsplit

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")

TAKEN = ("params", "headers", "cookies", "data", "json", "auth", "allow_redirects",
         "timeout", "verify")


def request_of(url, method, kw):
    """``(url, settings)``: the URL to fetch and the keywords of ``Engine.enqueue`` that
    send it as ``method`` with ``kw``; ``TypeError``/``ValueError`` for what cannot be."""
    unknown = sorted(set(kw) - set(TAKEN))
    if unknown:
        names = ", ".join(unknown)
        raise TypeError(f"octopus: enqueue() got keyword arguments it cannot honour: {names}"
                        f" (it takes {', '.join(TAKEN)})")
    if kw.get("verify", True) is not True:
        raise TypeError("octopus: verify= per request is not supported; make the Octopus "
                        "with insecure=True to skip certificate checks")
    if not isinstance(method, str) or not _TOKEN.fullmatch(method):
        raise ValueError(f"octopus: {method!r} is not an HTTP method")
    shape = {}
    if method.upper() != "GET":
        shape["method"] = str(method)
    if kw.get("params"):
        url = _with_params(url, kw["params"])
    headers = [(str(name), str(value)) for name, value in _pairs(kw.get("headers"))]
    given = {name.lower() for name, _ in headers}
    body, content_type = _body(kw.get("data"), kw.get("json"))
    if content_type and "content-type" not in given:
        headers.append(("Content-Type", content_type))
    if kw.get("cookies"):
        jar = "; ".join(f"{name}={value}" for name, value in _pairs(kw["cookies"]))
        headers.append(("Cookie", jar))
    if kw.get("auth") is not None:
        headers.append(("Authorization", _basic(kw["auth"])))
    if headers:
        shape["headers"] = headers
    if body is not None:
        shape["body"] = body
    if kw.get("allow_redirects") is False:
        shape["max_redirects"] = 0
    if kw.get("timeout") is not None:
        timeout = kw["timeout"]
        shape["timeout"] = float(sum(timeout) if isinstance(timeout, tuple) else timeout)
    return url, shape


def _pairs(value):
    if value is None:
        return []
    return list(value.items()) if hasattr(value, "items") else list(value)


def _with_params(url, params):
    query = params if isinstance(params, (str, bytes)) else urlencode(_pairs(params), doseq=True)
    if isinstance(query, bytes):
        query = query.decode("ascii")
    parts = urlsplit(url)
    joined = f"{parts.query}&{query}" if parts.query else query
    return urlunsplit((parts.scheme, parts.netloc, parts.path, joined, parts.fragment))


def _body(data, json):
    """The body and its Content-Type (``None`` when given as is)."""
    if data is not None and data != {} and data != []:
        if isinstance(data, bytes):
            return data, None
        if isinstance(data, str):
            return data.encode("utf-8"), None
        if hasattr(data, "read"):
            read = data.read()
            return (read.encode("utf-8") if isinstance(read, str) else read), None
        return urlencode(_pairs(data), doseq=True).encode("ascii"), \
            "application/x-www-form-urlencoded"
    if json is not None:
        return jsonlib.dumps(json).encode("utf-8"), "application/json"
    return None, None


def _basic(auth):
    if not (isinstance(auth, tuple) and len(auth) == 2):
        raise TypeError("octopus: auth= takes a (user, password) pair")
    token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode("utf-8")).decode("ascii")
    return f"Basic {token}"
