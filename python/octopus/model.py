"""What a handler is given: the original's ``Response``, with octopus's own fields."""

from http import HTTPStatus
from http.cookies import SimpleCookie

#: The status of a response that never came, as the original reported it: 599 for a
#: connection, name or TLS failure, 500 for a timeout.
FAILED_STATUS = 599
TIMEOUT_STATUS = 500


#: ``text`` not given: decoded from ``content``.
_DECODED = object()


class Response:
    """One URL's result.

    The original's fields: ``url``, ``status_code``, ``headers`` (a dict), ``cookies`` (a
    dict), ``text``, ``effective_url`` (after redirects), ``error`` (``None``, or why no
    response came) and ``request_time`` (seconds, a number). octopus adds ``content``
    (bytes), ``error_kind`` (``dns``, ``connect``, ``timeout``, ``tls``, …), ``attempts``,
    ``redirects``, ``cached``, ``waited`` (seconds a limit held it back), ``http_version``
    (``"1.1"``; ``None`` when no response came) and ``proxy`` (the proxy it went through,
    ``scheme://host:port``, or ``None``).

    As in the original, ``Octopus`` gives a failure's message as both ``text`` and
    ``error``, and a status above 399 its body as ``error``; ``TornadoOctopus`` gives a
    failure no ``text`` (``None``) and a status of 400 or more ``error`` as
    ``HTTP 404: Not Found``.
    """

    def __init__(self, url, status_code, headers=None, cookies=None, text=_DECODED,
                 effective_url=None, error=None, request_time=0.0, content=b"",
                 error_kind=None, attempts=1, redirects=0, cached=False, waited=0.0,
                 http_version=None, proxy=None):
        self.url = url
        self.status_code = status_code
        self.headers = headers if headers is not None else {}
        self.cookies = cookies if cookies is not None else {}
        self.content = content
        self.text = _decode(content, self.headers) if text is _DECODED else text
        self.effective_url = effective_url if effective_url is not None else url
        self.error = error
        self.request_time = request_time
        self.error_kind = error_kind
        self.attempts = attempts
        self.redirects = redirects
        self.cached = cached
        self.waited = waited
        self.http_version = http_version
        self.proxy = proxy

    @classmethod
    def _from_engine(cls, r, tornado=False):
        """The model of an engine response (``octopus._octopus.Response``), as
        ``Octopus`` (or, ``tornado``, as ``TornadoOctopus``) gave it."""
        text, error = _DECODED, r.error
        if r.status is None:
            timed_out = r.error_kind == "timeout" and not tornado
            status = TIMEOUT_STATUS if timed_out else FAILED_STATUS
            text = None if tornado else r.error
        else:
            status = r.status
        cookies = {}
        for name, value in r.header_list:
            if name == "set-cookie":
                jar = SimpleCookie()
                try:
                    jar.load(value)
                except Exception:  # a cookie Python cannot read is left out
                    continue
                cookies.update({key: morsel.value for key, morsel in jar.items()})
        headers = r.headers
        response = cls(url=r.url, status_code=status, headers=headers, cookies=cookies,
                       text=text, effective_url=r.final_url or r.url, error=error,
                       request_time=r.elapsed, content=r.content, error_kind=r.error_kind,
                       attempts=r.attempts, redirects=r.redirects, cached=r.cached,
                       waited=r.waited, http_version=r.http_version, proxy=r.proxy)
        if r.status is not None and status > 399:
            response.error = _reason(status) if tornado else response.text
        return response

    def __repr__(self):
        return f"<Response {self.status_code} {self.url}>"


def _reason(status):
    """``HTTP 404: Not Found``, as tornado's ``HTTPError`` says it."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Unknown"
    return f"HTTP {status}: {phrase}"


def _decode(content, headers):
    """The body as text: the charset the Content-Type names, else UTF-8 (bytes that do not
    decode are replaced)."""
    charset = "utf-8"
    for part in headers.get("content-type", "").split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            charset = value.strip('"')
    try:
        return content.decode(charset, errors="replace")
    except LookupError:
        return content.decode("utf-8", errors="replace")
