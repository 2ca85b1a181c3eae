"""The permission matrix of docs/security.md, read as data, and the URLconf walked."""

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from django.urls import URLPattern, URLResolver, get_resolver

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"
BEGIN, END = "<!-- matrix:begin -->", "<!-- matrix:end -->"

# Who may use a route -> the callers (tests/security/people.py) allowed through.
WHO = {
    "public": {"anonymous", "non_staff", "staff", "agent_a", "agent_b", "supervisor"},
    "staff": {"staff", "agent_a", "agent_b", "supervisor"},
    "agent": {"agent_a", "agent_b", "supervisor"},
    # Objects of queue A: its agent and supervisors; queue B's agent gets a 404.
    "agent:queue": {"agent_a", "supervisor"},
    "supervisor": {"supervisor"},
    "superuser": set(),  # none of the six: superusers only
    "token": set(),  # /metrics: the scrape token or an allow-listed address, no user
    "signed": set(),  # the WeChat webhook: WeChat's signature, no user
    "simulator": None,  # DEBUG-only development tool: not walked (SIMULATOR_ENABLED)
}


@dataclass(frozen=True)
class Row:
    route: str  # "/api/tickets/{pk}/", globs allowed ("/admin/notices/*")
    methods: frozenset[str]
    who: str

    def matches(self, route: str, method: str) -> bool:
        # The schema names a path parameter after the model field ({id}), the URLconf after
        # the converter ({pk}): only the position counts.
        return fnmatchcase(_anon(route), _anon(self.route)) and (
            "*" in self.methods or method in self.methods
        )


def matrix_rows() -> list[Row]:
    """Rows of the matrix table in docs/security.md."""
    text = DOC.read_text(encoding="utf-8")
    table = text[text.index(BEGIN) + len(BEGIN) : text.index(END)]
    rows = []
    for line in table.splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("/"):
            continue
        route, methods, who = cells[:3]
        assert who in WHO, f"unknown role {who!r} for {route}"
        rows.append(Row(route, frozenset(m.strip() for m in methods.split(",")), who))
    return rows


def row_for(rows: list[Row], route: str, method: str) -> Row | None:
    """The first matching row: specific rows come before globs in the table."""
    return next((r for r in rows if r.matches(route, method)), None)


def _anon(route: str) -> str:
    return re.sub(r"\{\w+\}", "{}", route)


_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


def routes() -> list[tuple[str, object]]:
    """Every route of the URLconf as "/a/{name}/b/", with its callback, recursively."""
    found: list[tuple[str, object]] = []

    def walk(patterns, prefix: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + _text(p.pattern))
            elif isinstance(p, URLPattern):
                found.append(("/" + _CONVERTER.sub(r"{\1}", prefix + _text(p.pattern)), p.callback))

    walk(get_resolver().url_patterns, "")
    return found


def _text(pattern) -> str:
    raw = str(pattern)
    # Regex patterns (the admin's app index): keep them readable and globbable.
    return raw.lstrip("^").rstrip("$").replace("\\Z", "")
