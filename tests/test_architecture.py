"""The direction of imports between the product's packages (../shared/docs/design.md).

`support ← tickets ← bot.conversations ← bot.{channels.wechat, nlu, invoices,
notices} ← bot.helpdesk ← bot.dialog`; `bot.reports` reads everyone; `bot.simulator`
is the development stand-in at the top. A reaction that must travel up is a Django
signal, never an import.

The walk reads every .py of `support/`, `tickets/` and `bot/` (migrations and tests
left out) with `ast`: module-level and function-level imports (those under
`if TYPE_CHECKING:` too: a type is a dependency), `import x` and `from x import y`,
relative imports resolved against the file's package. Strings that name a backend
in settings ("bot.helpdesk.backend.WeChatTicketBackend") or a module for
`include()` / `import_module()` are not imports and are not read.
"""

from __future__ import annotations

import ast
import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCT_ROOTS = ("support", "tickets", "bot")


@dataclass(frozen=True)
class Layer:
    """One package of the layer table.

    `level`: a package may import packages of a lower level, and its siblings of the
    same level. `only`: narrower than that, the only packages it may import.
    `importers`: when set, the only files (WIRING-style patterns) outside the package
    that may import it, whatever their level.
    `rule`: said when this package imports what it must not; `imported_rule`: said
    when a package below imports this one (used when the importer has no `rule`).
    """

    level: int
    only: frozenset[str] | None = None
    importers: tuple[str, ...] | None = None
    rule: str = ""
    imported_rule: str = ""


# The layer table, bottom to top; docs/architecture.md mirrors it. A module belongs
# to the longest package here that is a prefix of its dotted name.
LAYERS: dict[str, Layer] = {
    "support": Layer(
        0,
        only=frozenset(),
        rule="support imports no bot/tickets module (only the files of WIRING may)",
    ),
    "tickets": Layer(1, rule="tickets never imports bot (a channel-agnostic help desk)"),
    "bot.conversations": Layer(2, rule="bot.conversations imports no other bot.* package"),
    # The middle layer: siblings may import one another (bot.notices uses the one
    # WeChat client of bot.channels.wechat), but the channel itself is protocol only.
    "bot.channels.wechat": Layer(
        3,
        only=frozenset({"support", "bot.conversations"}),
        rule="bot.channels.wechat is protocol only: it imports nothing from bot.dialog, "
        "bot.nlu, bot.invoices, bot.notices, bot.helpdesk or tickets",
    ),
    "bot.nlu": Layer(3),
    "bot.invoices": Layer(3),
    "bot.notices": Layer(3),
    # Answer ratings and the suggestion inbox: records the dialog writes, reports read.
    "bot.feedback": Layer(3),
    "bot.helpdesk": Layer(4, imported_rule="nothing below bot.helpdesk imports bot.helpdesk"),
    "bot.dialog": Layer(5, imported_rule="nothing below bot.dialog imports bot.dialog"),
    "bot.reports": Layer(
        6, imported_rule="bot.reports reads everyone; nothing below it imports it"
    ),
    "bot.simulator": Layer(
        7,
        # support/urls.py mounts the stand-in's URLs; the demo command writes the demo
        # conversations as the simulator would send them.
        importers=("support/urls.py", "support/management/commands/demo.py"),
        imported_rule="nothing imports bot.simulator (the development stand-in) "
        "except support/urls.py and the demo command",
    ),
}

# Package __init__ modules that only hold layers: they belong to none and import nothing.
CONTAINERS = frozenset({"bot", "bot.channels"})

# Wiring: the support files that may import any app, because putting the apps
# together is their job. Patterns are fnmatch patterns over the path from the root
# ("*" also matches "/"). Keep this list short and say why for each entry.
WIRING: dict[str, str] = {
    "support/urls.py": "the root URLconf mounts every app's URLs, the simulator's included",
    "support/settings*.py": "settings name the apps, their backends and their tasks",
    "support/celery.py": "the Celery app discovers and schedules every app's tasks",
    "support/management/**": "the demo command seeds and drives every app",
}

GENERIC_RULE = "imports point down the layer table, never up"


@dataclass(frozen=True)
class ImportEdge:
    path: str  # posix path from the tree's root
    line: int
    source: str  # dotted module name of the importing file
    target: str  # dotted module name imported
    statement: str


@dataclass(frozen=True)
class Violation:
    edge: ImportEdge
    rule: str

    def __str__(self) -> str:
        e = self.edge
        return f"{e.path}:{e.line}: {e.source} → {e.target} ({e.statement}): {self.rule}"


def _is_product_file(rel: Path) -> bool:
    parts = rel.parts
    if "migrations" in parts or "tests" in parts or "__pycache__" in parts:
        return False
    return not (rel.name.startswith("test_") or rel.name == "conftest.py")


def product_files(root: Path) -> list[Path]:
    """Return the product's .py files under root, as paths relative to it."""
    files: list[Path] = []
    for top in PRODUCT_ROOTS:
        if (root / top).is_dir():
            files += [
                p.relative_to(root)
                for p in sorted((root / top).rglob("*.py"))
                if _is_product_file(p.relative_to(root))
            ]
    return files


def module_name(rel: Path) -> str:
    parts = list(rel.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _package_of(rel: Path) -> list[str]:
    name = module_name(rel).split(".")
    return name if rel.name == "__init__.py" else name[:-1]


def _unparse(node: ast.stmt) -> str:
    return " ".join(ast.unparse(node).split())


def import_edges(root: Path, rel: Path, known: set[str]) -> list[ImportEdge]:
    """Return every product import of one file, wherever it stands in the file."""
    source = module_name(rel)
    tree = ast.parse((root / rel).read_text(encoding="utf-8"), filename=str(rel))
    edges: dict[tuple[int, str], ImportEdge] = {}

    def add(node: ast.stmt, target: str) -> None:
        if target.split(".")[0] in PRODUCT_ROOTS:
            key = (node.lineno, target)
            edges.setdefault(
                key, ImportEdge(rel.as_posix(), node.lineno, source, target, _unparse(node))
            )

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(node, alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = _package_of(rel)
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            for alias in node.names:
                # `from bot import dialog` imports the package bot.dialog.
                child = f"{module}.{alias.name}"
                if alias.name != "*" and (child in known or module in CONTAINERS):
                    add(node, child)
                else:
                    add(node, module)
    return sorted(edges.values(), key=lambda e: (e.line, e.target))


def layer_of(module: str) -> str | None:
    """Return the package of LAYERS a dotted module name belongs to."""
    best = None
    for package in LAYERS:
        if (module == package or module.startswith(package + ".")) and (
            best is None or len(package) > len(best)
        ):
            best = package
    return best


def _matches(path: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in patterns)


def edge_violation(edge: ImportEdge) -> str | None:
    """Return the rule an import breaks, or None when it is allowed."""
    src, dst = layer_of(edge.source), layer_of(edge.target)
    if edge.target in CONTAINERS:
        return None
    if dst is None:
        return "the target is in no package of LAYERS (a stale path, or a package to add)"
    if src is None:
        if edge.source in CONTAINERS:
            return "a container package (CONTAINERS) imports nothing"
        return "the importing module is in no package of LAYERS (add its package)"
    if src == dst:
        return None
    layer, target = LAYERS[src], LAYERS[dst]
    if target.importers is not None and not _matches(edge.path, target.importers):
        return target.imported_rule
    if src == "support" and _matches(edge.path, WIRING):
        return None
    if layer.only is not None:
        return None if dst in layer.only else layer.rule
    if target.level > layer.level:
        return layer.rule or target.imported_rule or GENERIC_RULE
    return None


@dataclass(frozen=True)
class Walk:
    modules: list[str]
    edges: list[ImportEdge]
    violations: list[Violation]


def walk(root: Path) -> Walk:
    """Read every product module under root and check each of its imports."""
    files = product_files(root)
    known = {module_name(rel) for rel in files}
    edges: list[ImportEdge] = []
    violations: list[Violation] = []
    for rel in files:
        try:
            file_edges = import_edges(root, rel, known)
        except SyntaxError as exc:
            edge = ImportEdge(rel.as_posix(), exc.lineno or 0, module_name(rel), "?", "")
            violations.append(Violation(edge, f"cannot be parsed: {exc.msg}"))
            continue
        edges += file_edges
        source_layer = layer_of(module_name(rel))
        if source_layer is None and module_name(rel) not in CONTAINERS:
            edge = ImportEdge(rel.as_posix(), 1, module_name(rel), "-", "")
            violations.append(Violation(edge, "the module is in no package of LAYERS"))
            continue
        for e in file_edges:
            rule = edge_violation(e)
            if rule is not None:
                violations.append(Violation(e, rule))
    return Walk(sorted(known), edges, violations)


# --- the real tree -----------------------------------------------------------


def test_the_walk_reads_the_whole_product():
    result = walk(ROOT)
    assert len(result.modules) > 50, result.modules
    assert len(result.edges) > 100  # the walker sees imports, not just files
    assert not any("migrations" in m or ".tests" in m for m in result.modules)


def test_imports_point_down_the_layer_table():
    violations = walk(ROOT).violations
    assert violations == [], "\n" + "\n".join(map(str, violations))


def test_wiring_and_tables_name_real_things():
    paths = [p.as_posix() for p in product_files(ROOT)]
    for pattern in [*WIRING, *(p for layer in LAYERS.values() for p in layer.importers or ())]:
        assert any(fnmatch.fnmatchcase(path, pattern) for path in paths), pattern
    for package, layer in LAYERS.items():
        for allowed in layer.only or ():
            assert allowed in LAYERS, (package, allowed)


# --- the checker bites: a synthetic tree -------------------------------------

SYNTHETIC = {
    "bot/__init__.py": "",
    "bot/channels/__init__.py": "",
    "bot/channels/wechat/__init__.py": "",
    # a channel reaching up into the dialog, at module level
    "bot/channels/wechat/x.py": "from bot.dialog import receive\n",
    # relative import out of the channel, inside a function
    "bot/channels/wechat/y.py": (
        "from . import x\n"
        "from bot.conversations.models import Follower\n"
        "\n"
        "\n"
        "def go():\n"
        "    from ...nlu.matcher import classify\n"
        "    return classify\n"
    ),
    # `import x` form, into tickets (below, but out of the channel's reach)
    "bot/channels/wechat/z.py": "import tickets.models\n",
    "bot/conversations/__init__.py": "",
    "bot/conversations/models.py": "import support.api\nfrom bot.nlu import models\n",
    "bot/conversations/migrations/0001_initial.py": "from bot.dialog import receive\n",
    "bot/nlu/__init__.py": "",
    "bot/nlu/models.py": "",
    "bot/nlu/matcher.py": (
        "from bot.invoices import fields\n"  # a sibling: allowed
        "from bot.channels.wechat import client\n"  # into the channel: allowed
        "from .models import Intent\n"
        "\n"
        "\n"
        "def escalate():\n"
        "    import bot.helpdesk.escalation\n"
        "    return bot.helpdesk.escalation\n"
    ),
    "bot/nlu/tests/test_x.py": "from bot.dialog import receive\n",
    "bot/invoices/__init__.py": "",
    "bot/invoices/fields.py": "from bot.dialog.router import route\n",
    "bot/channels/wechat/client.py": "",
    "bot/helpdesk/__init__.py": "",
    "bot/helpdesk/escalation.py": "from bot.dialog import receive\nfrom tickets import services\n",
    "bot/dialog/__init__.py": "",
    "bot/dialog/receive.py": (
        "from bot.helpdesk import escalation\nfrom bot.simulator import envelope\n"
    ),
    "bot/dialog/router.py": "from bot import nlu\n",
    "bot/simulator/__init__.py": "",
    "bot/simulator/envelope.py": "from bot.dialog.receive import x\n",
    "bot/wechat/__init__.py": "",  # a package missing from the table
    "tickets/__init__.py": "",
    "tickets/models.py": "",
    "tickets/services.py": (
        "from support import api\n\n\ndef f():\n    from bot.nlu import models\n"
    ),
    # a setting naming a backend is a string, not an import
    "tickets/notify.py": 'BACKEND = "bot.helpdesk.backend.WeChatTicketBackend"\n',
    "support/__init__.py": "",
    "support/api.py": "",
    "support/views.py": "from tickets.models import Ticket\n",
    "support/urls.py": "from bot.dialog import receive\nfrom bot.simulator import envelope\n",
    "support/settings_test.py": "from bot.channels.wechat import client\n",
    "support/management/__init__.py": "",
    "support/management/commands/demo.py": (
        "from bot.dialog.receive import message_receive\nfrom bot.simulator.envelope import f\n"
    ),
}


def _synthetic_tree(tmp_path: Path) -> Path:
    for rel, text in SYNTHETIC.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


def test_the_checker_reports_each_broken_rule_with_file_and_line(tmp_path):
    violations = walk(_synthetic_tree(tmp_path)).violations
    found = {(str(v).split(": ", 1)[0], v.edge.target): v.rule for v in violations}
    channel = LAYERS["bot.channels.wechat"].rule
    assert found == {
        ("bot/channels/wechat/x.py:1", "bot.dialog.receive"): channel,
        ("bot/channels/wechat/y.py:6", "bot.nlu.matcher"): channel,
        ("bot/channels/wechat/z.py:1", "tickets.models"): channel,
        ("bot/conversations/models.py:2", "bot.nlu.models"): LAYERS["bot.conversations"].rule,
        ("bot/nlu/matcher.py:7", "bot.helpdesk.escalation"): LAYERS["bot.helpdesk"].imported_rule,
        ("bot/invoices/fields.py:1", "bot.dialog.router"): LAYERS["bot.dialog"].imported_rule,
        ("bot/helpdesk/escalation.py:1", "bot.dialog.receive"): (
            LAYERS["bot.dialog"].imported_rule
        ),
        ("bot/dialog/receive.py:2", "bot.simulator.envelope"): (
            LAYERS["bot.simulator"].imported_rule
        ),
        ("bot/wechat/__init__.py:1", "-"): "the module is in no package of LAYERS",
        ("tickets/services.py:5", "bot.nlu.models"): LAYERS["tickets"].rule,
        ("support/views.py:1", "tickets.models"): LAYERS["support"].rule,
    }
    assert str(next(v for v in violations if v.edge.path == "bot/channels/wechat/x.py")) == (
        "bot/channels/wechat/x.py:1: bot.channels.wechat.x → bot.dialog.receive "
        f"(from bot.dialog import receive): {channel}"
    )


def test_the_checker_resolves_relative_and_package_imports(tmp_path):
    edges = {(e.path, e.target) for e in walk(_synthetic_tree(tmp_path)).edges}
    assert ("bot/channels/wechat/y.py", "bot.channels.wechat.x") in edges  # from . import x
    assert ("bot/channels/wechat/y.py", "bot.nlu.matcher") in edges  # from ...nlu.matcher
    assert ("bot/nlu/matcher.py", "bot.nlu.models") in edges  # from .models import Intent
    assert ("bot/dialog/router.py", "bot.nlu") in edges  # from bot import nlu
    assert not any(path == "tickets/notify.py" for path, _ in edges)  # a string
    assert not any("migrations" in path or "/tests/" in path for path, _ in edges)


def test_a_stale_import_path_is_reported(tmp_path):
    root = _synthetic_tree(tmp_path)
    (root / "bot/dialog/router.py").write_text("from bot.wechat.services import x\n")
    violations = [v for v in walk(root).violations if v.edge.path == "bot/dialog/router.py"]
    assert [(v.edge.line, v.edge.target) for v in violations] == [(1, "bot.wechat.services")]
    assert "no package of LAYERS" in violations[0].rule
