"""Field types and validators every section shares (DNS names, ranges, versions, URLs, free text),
and `Section`, the base of every model: unknown keys are errors, values are immutable, and numbers
and booleans are taken only as YAML numbers and booleans.

Every string that reaches a generated file is checked here for the format it ends up in:
- a name (a host, a label, a version, a path) is held to a pattern the whole value must match;
  pydantic's regex engine reads `$` as the end of the text, and `[0-9]`, never `\\d`, is written,
  because `\\d` also matches Arabic-Indic and other digits;
- a URL is a `Url`: one rule for every URL field (scheme, host, no credentials, no characters a
  shell, YAML or HCL would take as syntax);
- free text (a description, a display name, the organisation) is `FreeText`: one line of printable
  text, no control or bidirectional-override characters, no surrounding space. The renderers then
  escape it for the format it lands in (LDIF base64, Markdown, nftables and pfSense quoting).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Network
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Strict, StringConstraints

from homelabeazy.config.cron import CronError, parse_cron

PATTERN_WORDS: dict[str, str] = {}
"""Every pattern of the schema -> what its error says the value must be (config.load reads it)."""


def pattern(regex: str, words: str, **constraints: Any) -> StringConstraints:
    """A pattern the whole value must match, registered with the words its error message uses.

    One pattern has one meaning: registering it twice with other words is a programming error.
    """
    if PATTERN_WORDS.setdefault(regex, words) != words:
        raise ValueError(f"pattern {regex!r} is registered twice with different words")
    return StringConstraints(pattern=regex, **constraints)


DNS_LABEL = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
DNS_NAME = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
MAX_DNS_NAME = 253
"""RFC 1035: a name is at most 255 octets on the wire, 253 characters written out."""
K3S_VERSION = r"^v1\.([0-9]{1,3})\.([0-9]{1,3})\+k3s([0-9]{1,3})$"
"""A K3s release tag. Each number has at most three digits: enough for any release to come, and a
bound on every loop and message a version drives (the versions between two minors)."""
SENDER = r"^[A-Za-z0-9._~!#$%&'*/=?^{|}+-]+@[A-Za-z0-9.-]+\.[A-Za-z0-9-]+$"
"""A bare mailbox as Authelia's schema spells it. Its `Name <mailbox>` form is left out: the schema
offers the two forms as a `oneOf` with `format: email`, which a validator that does not check
formats strictly matches twice, so the deep validation would refuse it."""
EMAIL = r"^[A-Za-z0-9._%+'-]{1,64}@[A-Za-z0-9.-]{1,252}\.[A-Za-z0-9-]{1,63}$"
"""An address as LDAP's `mail` (IA5String: ASCII) and an ACME account take it."""
VERSION = r"^v?[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$"
LOGIN = r"^[a-z_][a-z0-9_-]{0,31}$"
ENV_NAME = r"^[A-Z_][A-Z0-9_]*$"
REGION = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$"

Label = Annotated[
    str,
    pattern(DNS_LABEL, "must be a DNS label: lowercase letters, digits and '-', at most 63 characters"),
    StringConstraints(max_length=63),
]
"""A single DNS label: lowercase letters, digits and '-', not starting or ending with '-'."""

DnsName = Annotated[
    str,
    pattern(DNS_NAME, "must be a DNS name like home.example.com (lowercase)"),
    StringConstraints(max_length=MAX_DNS_NAME),
]
Size = Annotated[str, pattern(r"^[1-9][0-9]{0,5}(Mi|Gi|Ti)$", "must be a Kubernetes size like 10Gi or 512Mi")]
Duration = Annotated[
    str,
    pattern(r"^([0-9]{1,6}(h|m|s)){1,3}$", "must be a duration like 1h, 30m or 720h"),
]


def _check_cron(value: str) -> str:
    """Refuse what Velero, Kubernetes and K3s would refuse (their parser: config/cron.py), and a
    schedule that never runs: its backups' age could never be judged."""
    try:
        parse_cron(value)
    except CronError as exc:
        raise ValueError(f"{value!r} is not a schedule Velero, Kubernetes and K3s accept: {exc}") from None
    return value


Cron = Annotated[
    str,
    pattern(
        r"^(@[a-z]{1,10}|([!-~]{1,60} +){4}[!-~]{1,60})$",
        "must be a 5-field cron expression like '0 3 * * *' or @daily",
    ),
    AfterValidator(_check_cron),
]
ChartVersion = Annotated[str, pattern(VERSION, "must be an exact version like 1.2.3")]
"""An exact chart (or release) version, `1.2.3` or `v1.2.3`, with an optional `-pre`/`+build` part."""
K3sVersion = Annotated[str, pattern(K3S_VERSION, "must be a K3s release like v1.33.5+k3s1")]
Login = Annotated[str, pattern(LOGIN, "must be a lowercase login name (letters, digits, '_', '-')")]
EnvName = Annotated[str, pattern(ENV_NAME, "must be an environment variable name like PROXMOX_VE_API_TOKEN")]
Email = Annotated[
    str,
    pattern(EMAIL, "must be an e-mail address like you@example.com (ASCII)"),
    StringConstraints(max_length=254),
]
Mailbox = Annotated[
    str,
    pattern(SENDER, "must be a bare e-mail address like auth@example.com"),
    StringConstraints(max_length=254),
]
Region = Annotated[
    str,
    pattern(REGION, "must be a region name like us-east-1 (letters, digits, '-' and '_')"),
]
HelmValues = dict[str, Any]
"""Helm values: a mapping, exactly as in a Helm values file."""


def _text_only(value: object) -> object:
    """An address is written as text: YAML's 168430090 is a number, not 10.10.10.10 by accident."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("must be written as an address like 10.10.10.5, not a number")
    return value


IPv4 = Annotated[IPv4Address, Strict(False), BeforeValidator(_text_only)]
"""An IPv4 address, written as text (`Section` is strict; an address is parsed from its text)."""
IPv4Net = Annotated[IPv4Network, Strict(False), BeforeValidator(_text_only)]
"""An IPv4 subnet, written as text."""


def _check_range(value: str) -> str:
    """Validate `A.B.C.D-E.F.G.H` (inclusive, start <= end) and normalise spacing."""
    parts = [p.strip() for p in value.split("-")]
    if len(parts) != 2:
        raise ValueError("expected an address range like 10.10.10.20-10.10.10.59")
    try:
        start, end = IPv4Address(parts[0]), IPv4Address(parts[1])
    except ValueError as exc:
        raise ValueError(f"not a valid IPv4 range: {exc}") from None
    if start > end:
        raise ValueError(f"range start {start} is after its end {end}")
    return f"{start}-{end}"


IpRange = Annotated[str, StringConstraints(max_length=64), AfterValidator(_check_range)]
"""An inclusive IPv4 range written `first-last`, e.g. 10.10.10.200-10.10.10.239."""


def is_dns_name(value: str) -> bool:
    """Whether `value` is a DNS name as the schema takes one: the whole text, at most 253 characters."""
    return len(value) <= MAX_DNS_NAME and re.fullmatch(DNS_NAME[1:-1], value) is not None


def _check_host(value: str) -> str:
    if not is_dns_name(value):
        raise ValueError(
            "not a valid DNS name (lowercase letters, digits, '-' and '.', labels of at most 63 and "
            f"a name of at most {MAX_DNS_NAME} characters)"
        )
    return value


HostName = Annotated[str, AfterValidator(_check_host)]
"""A route host: a single label (prefixed to the domain) or a full name inside the domain."""


def _check_repo_path(value: str) -> str:
    """A folder inside the repository: the writer would otherwise carry files out of the tree."""
    segments = value.strip("/").split("/") if not value.startswith("/") else ["/"]
    if value.startswith("/") or any(seg in ("", ".", "..") for seg in segments):
        raise ValueError(
            "must be a relative folder inside the repository (no leading '/', no '.' or '..' parts)"
        )
    if segments[0] in (".git", ".homelab"):
        raise ValueError(f"{segments[0]}/ is reserved (Git's and homelabeazy's own state)")
    return value


RepoPath = Annotated[
    str,
    pattern(r"^[A-Za-z0-9._/-]{1,255}$", "must be a relative folder: letters, digits, '.', '_', '-' and '/'"),
    AfterValidator(_check_repo_path),
]
"""A folder inside the generated repository (relative, without `..`)."""


# --------------------------------------------------------------------------- free text

MAX_TEXT = 256
"""A description, a display name, an organisation: one line, far below any consumer's limit."""
_CONTROL_NAMES = {
    "\0": "NUL",
    "\t": "TAB",
    "\n": "LINE FEED",
    "\r": "CARRIAGE RETURN",
    "\x1b": "ESCAPE",
    "\x7f": "DELETE",
}
_JOINERS = frozenset("\u200c\u200d")
"""Zero-width (non-)joiner: format characters that scripts and emoji sequences need."""


def is_control(char: str) -> bool:
    """Whether `char` is invisible or steers the display rather than being text: a control
    character, a format character (bidi overrides, zero-width space; not the joiners emoji and
    some scripts need), a line or paragraph separator, or a lone surrogate."""
    category = unicodedata.category(char)
    return category in ("Cc", "Cs", "Zl", "Zp") or (category == "Cf" and char not in _JOINERS)


def text_problem(value: str) -> str | None:
    """Why `value` cannot be free text (None when it can): control characters (ESC, NUL, CR, LF,
    tab), bidirectional overrides and other invisible format characters (U+202E reverses what a
    terminal or a review shows), line and paragraph separators, lone surrogates, or spaces around it
    (Markdown and LDAP trim them, so the value would not survive the trip)."""
    for char in value:
        if is_control(char):
            name = unicodedata.name(char, _CONTROL_NAMES.get(char, "a control character"))
            return f"holds U+{ord(char):04X} ({name}): write plain text on one line"
    if value != value.strip():
        return "starts or ends with white space"
    return None


def _check_text(value: str) -> str:
    problem = text_problem(value)
    if problem:
        raise ValueError(problem)
    return value


FreeText = Annotated[str, StringConstraints(max_length=MAX_TEXT), AfterValidator(_check_text)]
"""Printable text on one line: what a description, a name shown to people, or the organisation is."""


# --------------------------------------------------------------------------- URLs

NO_SECRETS_IN_URL = "the credentials are a secret the homelab keeps in Vault, never in homelab.yaml"
"""Where a URL's credentials go instead, unless the field says more precisely."""

_URL_CHARS = re.compile(r"[A-Za-z0-9._~:/?&=%+,@-]+")
"""What a URL field may hold: RFC 3986's unreserved characters and the delimiters a host, port,
path and query need. Quotes, `$`, `;`, `|`, backslash, braces and spaces are left out, so a URL
means the same in YAML, HCL, a shell script and a Helm template that splices it in."""


class UrlRule:
    """The one rule for every URL in homelab.yaml (a schema test finds every URL field by it).

    - the scheme is one of `schemes`, followed by `//` and a host (an IPv4 address or a DNS name);
    - no credentials: no `user:password@` and no `token@` (for `ssh://` a bare user name such as
      `git@` is a login, not a secret, and is allowed); every URL is copied into committed files;
    - a port, when given, is 1-65535; no fragment; a query only where `query` allows it;
    - `path`: whether anything may follow the host (`"/"`: only a trailing slash);
    - only the characters of `_URL_CHARS`, at most `max_length` of them;
    - `scp`: Git's `user@host:path` form is taken too (it is not a URL, but means `ssh://`).
    """

    def __init__(
        self,
        schemes: tuple[str, ...],
        *,
        secrets_go: str,
        path: bool | str = True,
        query: bool = False,
        max_length: int = 2048,
        scp: bool = False,
    ) -> None:
        self.schemes = schemes
        self.scp = scp
        self.secrets_go = secrets_go
        self.path = path
        self.query = query
        self.max_length = max_length

    def __call__(self, value: str) -> str:
        problem = self.problem(value)
        if problem:
            raise ValueError(problem)
        return value

    def problem(self, value: str) -> str | None:
        """What is wrong with `value` as this kind of URL, in words that never repeat a secret."""
        wanted = " or ".join(f"{s}://" for s in self.schemes)
        if len(value) > self.max_length:
            return f"must be a URL of at most {self.max_length} characters"
        if self.scp and "://" not in value:
            return self._scp(value, wanted)
        scheme, sep, rest = value.partition("://")
        if not sep or scheme not in self.schemes:
            return f"must be a {wanted} URL" + (" or git@host:path" if self.scp else "")
        if _URL_CHARS.fullmatch(value) is None:
            return (
                f"must be a {wanted} URL of letters, digits and . _ ~ : / ? & = % + , @ - only "
                "(percent-encode anything else)"
            )
        authority = rest.split("/", 1)[0].split("?", 1)[0]
        userinfo, at, _ = authority.rpartition("@")
        if at and (scheme != "ssh" or ":" in userinfo or not userinfo):
            return (
                "must not hold credentials (user:password@ or token@): this URL is written into "
                f"committed files; {self.secrets_go}"
            )
        return self._shape(value, scheme, wanted)

    def _scp(self, value: str, wanted: str) -> str | None:
        """`git@host:path`: a login (never a password), a host, a path of the URL characters."""
        login, at, rest = value.partition("@")
        host, colon, path = rest.partition(":")
        if not (at and colon and path) or re.fullmatch(LOGIN[1:-1], login) is None:
            return f"must be a {wanted} URL or git@host:path"
        if ":" in path or _URL_CHARS.fullmatch(path) is None or not (_is_ipv4(host) or is_dns_name(host)):
            return "must be git@host:path with a host (an IPv4 address or a DNS name) and a plain path"
        return None

    def _shape(self, value: str, scheme: str, wanted: str) -> str | None:
        try:
            parts = urlsplit(value)
            port = parts.port
        except ValueError:
            return f"must be a {wanted} URL with a valid host and port"
        host = parts.hostname or ""
        if not host or not (_is_ipv4(host) or is_dns_name(host)):
            return f"must be a {wanted} URL whose host is an IPv4 address or a DNS name"
        if port == 0:
            return "must name a port between 1 and 65535"
        if parts.fragment or value.endswith("#"):
            return "must not have a #fragment"
        if (parts.query or "?" in value) and not self.query:
            return "must not have a ?query (anything secret belongs in a token the homelab keeps in Vault)"
        if self.path is False and parts.path:
            return f"must be {scheme}:// and a host only, e.g. {scheme}://ntfy.example.com"
        if self.path == "/" and parts.path not in ("", "/"):
            return f"must be {scheme}:// and a host (and port) only, with no path"
        return None


def _is_ipv4(host: str) -> bool:
    try:
        IPv4Address(host)
    except ValueError:
        return False
    return True


def url(
    *schemes: str,
    secrets_go: str = "",
    path: bool | str = True,
    query: bool = False,
    scp: bool = False,
) -> AfterValidator:
    """The `UrlRule` for a URL field, as a validator: `Annotated[str, url("https", secrets_go=...)]`."""
    return AfterValidator(
        UrlRule(schemes, secrets_go=secrets_go or NO_SECRETS_IN_URL, path=path, query=query, scp=scp)
    )


def url_rule(metadata: list[Any]) -> UrlRule | None:
    """The URL rule among a field's annotations, if it has one (for the schema tests)."""
    for item in metadata:
        func: Callable[..., Any] | None = getattr(item, "func", None)
        if isinstance(func, UrlRule):
            return func
    return None


class Section(BaseModel):
    """Base for every config section: unknown keys are errors, values are immutable.

    Strict: a number is a YAML number and a boolean a YAML boolean. Lax pydantic would read `true`
    as the port 1, `3.0` or `"3"` as 3 replicas and `"no"` as false, so a slip in the file would
    quietly mean something else. Addresses and subnets are parsed from their text (`IPv4`).
    """

    # The field docstrings reach the JSON Schema through config.json_schema (make docs-gen).
    # defer_build: a model's validator is built when first used, so validating homelab.yaml builds the
    # root once instead of every section at import too (about a tenth of `homelab validate`'s CPU).
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True, strict=True)


__all__ = [
    "DNS_LABEL",
    "DNS_NAME",
    "K3S_VERSION",
    "MAX_DNS_NAME",
    "NO_SECRETS_IN_URL",
    "PATTERN_WORDS",
    "ChartVersion",
    "Cron",
    "DnsName",
    "Duration",
    "Email",
    "EnvName",
    "FreeText",
    "HelmValues",
    "HostName",
    "IPv4",
    "IPv4Net",
    "IpRange",
    "K3sVersion",
    "Label",
    "Login",
    "Mailbox",
    "Region",
    "RepoPath",
    "Section",
    "Size",
    "UrlRule",
    "is_control",
    "is_dns_name",
    "pattern",
    "text_problem",
    "url",
    "url_rule",
]
