"""Links as Telegram's URL buttons accept them; plain text work, shared by the views and the
catalogue importer (which checks the links a file brings before they reach a button)."""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit


def ascii_url(url: str, *, keep_fragment: bool = True) -> str | None:
    """An http(s) link as Telegram accepts it in a URL button: the host in punycode
    (р38.навигатор.дети), path and query %-encoded. None when it is not an http(s) link."""
    url = url.strip()
    if not url:
        return None
    try:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return None
        host = parts.hostname.encode("idna").decode("ascii")
        netloc = host if parts.port is None else f"{host}:{parts.port}"
    except (ValueError, UnicodeError):
        return None
    path = quote(parts.path, safe="/%:@!$&'()*+,;=-._~")
    query = quote(parts.query, safe="=&%+/-._~")
    fragment = quote(parts.fragment, safe="") if keep_fragment else ""
    return urlunsplit((parts.scheme, netloc, path, query, fragment))
