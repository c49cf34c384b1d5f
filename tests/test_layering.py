"""The layering rule of docs/architecture.md, read off the source: every import statement in
sigmail/ that runs, lazy ones inside functions included (not those under TYPE_CHECKING), and
the modules a package's lazy facade names in its table (``"sigmail.revocation.online"`` in
``revocation/__init__.py``: what ``importlib.import_module`` will import on first use).

1. No import cycle between modules.
2. The core (every package but the front-ends) never imports a front-end.
3. Chain validation (sigmail.trust) never imports a module that goes on the network, nor
   the policy (the policy configures trust; trust does not read it); and no core module
   outside sigmail.revocation reaches one, even through other modules (the facade
   ``sigmail/__init__.py`` aside: it only names them).
4. Every package and top-level module has a place in ``LAYERS``, and a module imports only
   modules of its own layer or of a lower one.

Violations not fixed yet are listed in KNOWN, each with its way out; the test fails on any
other violation and on a KNOWN entry that is gone (so the list stays true).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "sigmail"
FRONT_ENDS = {"cli", "milter", "audit", "notebook", "evidence", "service", "__main__"}
NETWORK_MODULES = {
    "sigmail.revocation.addresses",  # resolves host names
    "sigmail.revocation.factory",
    "sigmail.revocation.sources",
    "sigmail.revocation.online",
    "sigmail.revocation.transport",
}

# The layers, lowest first, as docs/architecture.md draws them: a module may import its own
# layer and the ones below. "" is the package's facade, sigmail/__init__.py (its names are
# imported on first use). A new package fails test_every_package_has_a_layer until placed.
LAYERS: tuple[tuple[str, frozenset[str]], ...] = (
    (
        "ground",
        frozenset(
            {
                "errors",
                "limits",
                "problems",
                "asn1_bounds",
                "bounded_cache",
                "frozen_copy",
                "crypto_warnings",
                "mailboxes",
                "_version",
                "_coro",
            }
        ),
    ),
    ("words", frozenset({"verdict"})),
    ("validation", frozenset({"trust", "revocation"})),
    ("signatures", frozenset({"cms", "contract"})),
    ("formats", frozenset({"smime", "pdf", "xmldsig", "ooxml", "odf"})),
    ("handlers and rules", frozenset({"formats", "policy"})),
    ("entry point", frozenset({"verifier", ""})),
    ("front-ends", frozenset(FRONT_ENDS)),
)

# (importer, imported): why it is still here and where it goes.
KNOWN: set[tuple[str, str]] = set()


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _executed_nodes(tree: ast.AST):
    """Every node, lazy imports in functions included, except `if TYPE_CHECKING:` blocks
    (they never run: annotations may name a module that imports this one)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for child in node.orelse:
                yield child
                yield from _executed_nodes(child)
            continue
        yield node
        yield from _executed_nodes(node)


# A module named in a lazy-import table: "sigmail.formats.pdf" or "sigmail.formats.pdf:verify".
_NAMED_MODULE = re.compile(r"(sigmail(?:\.\w+)+)(?::\w+)?")


def import_graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        source = path.read_text(encoding="utf-8")
        lazy_table = "import_module" in source
        for node in _executed_nodes(ast.parse(source)):
            if lazy_table and isinstance(node, ast.Constant) and isinstance(node.value, str):
                named = _NAMED_MODULE.fullmatch(node.value)
                if named:
                    targets.add(named.group(1))
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    module = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    module = node.module or ""
                for alias in node.names:  # `from pkg import module` imports the module
                    full = f"{module}.{alias.name}"
                    targets.add(full if full in modules else module)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


def _area(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _layer(module: str) -> int | None:
    area = _area(module)
    return next((i for i, (_, areas) in enumerate(LAYERS) if area in areas), None)


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for child in graph[todo.pop()] - seen:
            seen.add(child)
            todo.append(child)
    return seen


def violations(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    found = set()
    for importer, imported in ((a, b) for a, bs in graph.items() for b in bs):
        if _area(importer) not in FRONT_ENDS and _area(imported) in FRONT_ENDS:
            found.add((importer, imported))
        if _area(importer) == "trust" and (
            imported in NETWORK_MODULES or _area(imported) == "policy"
        ):
            found.add((importer, imported))
        low, high = _layer(importer), _layer(imported)
        if low is not None and high is not None and high > low:
            found.add((importer, imported))
    for module in graph:
        if _area(module) in FRONT_ENDS or _area(module) in {"revocation", ""}:
            continue
        found |= {(module, net) for net in _reachable(graph, module) & NETWORK_MODULES}
    for component in _cycles(graph):
        found |= {(a, b) for a in component for b in graph[a] & component}
    return found


def test_the_reader_sees_lazy_and_relative_imports():
    graph = import_graph()
    assert "sigmail.trust.chain" in graph["sigmail.contract"]  # inside a method
    typed = "if TYPE_CHECKING:\n    import a\nelse:\n    import b\nimport c\n"
    ran = {n.names[0].name for n in _executed_nodes(ast.parse(typed)) if isinstance(n, ast.Import)}
    assert ran == {"b", "c"}  # not what is only under `if TYPE_CHECKING:`
    assert "sigmail.verdict.html" in graph["sigmail.verdict.model"]  # inside _repr_html_
    assert "sigmail.cli" in graph["sigmail.__main__"]


def test_the_reader_sees_the_lazy_facades_tables():
    graph = import_graph()
    assert "sigmail.revocation.online" in graph["sigmail.revocation"]  # _HOMES
    assert "sigmail.formats.odf" in graph["sigmail.formats"]  # HANDLERS, "module:function"
    assert "sigmail.verifier" in graph["sigmail"]  # _EXPORTS


def test_every_package_has_a_layer():
    areas = {_area(m) for m in import_graph()}
    placed = set().union(*(a for _, a in LAYERS))
    assert areas - placed == set(), "place these in LAYERS (and in docs/architecture.md)"
    assert placed - areas == set(), "gone: remove these from LAYERS"
    assert len(placed) == sum(len(a) for _, a in LAYERS), "a package in two layers"


def test_the_architecture_page_draws_these_layers():
    """docs/architecture.md's drawing has every package, higher layers above lower ones."""
    page = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    drawing = page.split("## Layers", 1)[1].split("```", 2)[1].splitlines()

    def line_of(area: str) -> int:
        token = {"": "sigmail/__init__.py", "__main__": "__main__"}.get(area)
        token = token or (f"{area}/" if (PACKAGE / area).is_dir() else f"{area}.py")
        found = [i for i, line in enumerate(drawing) if token in line]
        assert found, f"{area} is not in the drawing of docs/architecture.md"
        return found[0]

    rows = [(i, line_of(area)) for i, (_, areas) in enumerate(LAYERS) for area in areas]
    for layer, line in rows:
        above = [other for higher, other in rows if higher > layer]
        assert all(other < line for other in above), f"layer {LAYERS[layer][0]} drawn too high"


def test_each_rule_catches_its_violation():
    """The rules fail where they should, on small made-up graphs over real module names."""
    clean = {"sigmail.verdict.model": set(), "sigmail.pdf.verify": {"sigmail.verdict.model"}}
    assert violations(clean) == set()
    upward = {"sigmail.verdict.model": {"sigmail.pdf.verify"}, "sigmail.pdf.verify": set()}
    assert violations(upward) == {("sigmail.verdict.model", "sigmail.pdf.verify")}
    front = {"sigmail.policy.apply": {"sigmail.cli.render"}, "sigmail.cli.render": set()}
    assert violations(front) == {("sigmail.policy.apply", "sigmail.cli.render")}
    through = {  # trust → evidence → online: the network reached through another module
        "sigmail.trust.chain": {"sigmail.revocation.evidence"},
        "sigmail.revocation.evidence": {"sigmail.revocation.online"},
        "sigmail.revocation.online": set(),
    }
    assert violations(through) == {("sigmail.trust.chain", "sigmail.revocation.online")}
    facade = {"sigmail": {"sigmail.revocation.online"}, "sigmail.revocation.online": set()}
    assert violations(facade) == set()


def test_cycles_are_found():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_cycle_no_upward_import_no_network_under_chain_validation():
    found = violations(import_graph())
    assert found - KNOWN == set(), "new layering violations"
    assert KNOWN - found == set(), "fixed: remove these from KNOWN"


def test_one_verdict_vocabulary_for_every_rendering():
    """The verdict words, their order, severity and colour are declared once
    (sigmail/verdict/vocabulary.py); the front-ends use that table, not copies of it."""
    from sigmail.audit import report
    from sigmail.milter import actions
    from sigmail.notebook import register
    from sigmail.verdict import html
    from sigmail.verdict.reasons import VERDICT_ACTIONS, VERDICT_LABELS
    from sigmail.verdict.vocabulary import VERDICT_ORDER, VerdictKind

    assert actions.VERDICTS is VERDICT_ORDER
    assert report.VERDICTS is VERDICT_ORDER
    assert register.VERDICT_ORDER is VERDICT_ORDER
    assert html.BADGE_COLOURS == report.COLORS == {k.value: k.colour for k in VerdictKind}
    assert set(VERDICT_LABELS) == set(VERDICT_ACTIONS) == set(VERDICT_ORDER)
    assert sorted(VerdictKind, key=lambda k: k.severity)[-1] is VerdictKind.INVALID
