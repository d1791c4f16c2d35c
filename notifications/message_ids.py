"""Every message carries its outbox id, so a receiver can drop a repeat (a send after a crash, or
after a lease ran out, may deliver twice): a header for e-mail, a header and a field for webhooks,
a last line of text for everyone (group robots have nothing else)."""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["HEADER", "FIELD", "with_message_id", "id_line"]

HEADER = "X-Swflow-Message-Id"  # apprise sets its own Message-ID (a new one per attempt); this one is ours
FIELD = "swflow_message_id"
_MAIL = frozenset({"mailto", "mailtos"})
_WEBHOOKS = frozenset({"json", "jsons", "form", "forms"})


def with_message_id(url: str, message_id: str) -> str:
    """The apprise URL with the id added: `+Header=value` becomes a mail or HTTP header,
    `:field=value` a field of the JSON body or the form. Other URLs are returned as they are."""
    scheme = urlsplit(url).scheme.lower()
    if scheme in _MAIL:
        extra = f"+{HEADER}={message_id}"
    elif scheme in _WEBHOOKS:
        extra = f"+{HEADER}={message_id}&:{FIELD}={message_id}"
    else:
        return url
    base, hash_mark, fragment = url.partition("#")
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}{extra}{hash_mark}{fragment}"


def id_line(message_id: str) -> str:
    return f"消息编号：{message_id}"
