"""Calls to the project's own functions and classes pass the arguments after the third by keyword (issue 14).

The check reads the source of core/, app/ and benchmarks/ with `ast` and resolves each call's callee by name, the way
the module itself sees it: its own definitions (nested ones included), its imports (followed through re-exports),
`module.x`, `Class.x`, `super().x`, and methods of objects whose class is known: `self`/`cls`, annotated parameters,
`x = Class(...)`, `x = f(...)` with f annotated to return a project class, and `self.x` set from one of those. A method
called on any other object is resolved by its name when only project methods of that name exist and each takes more
than three positionals. Calls to the standard library and third-party code (cv2, numpy, torch, Qt) are out of scope.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT_DIRS = ("core", "app", "benchmarks")  # where callees are looked up
CHECKED_DIRS = ("core", "app", "benchmarks")  # whose calls must follow the rule
MAX_POSITIONAL = 3

ALLOWED_FILES: frozenset[str] = frozenset()   # files exempt from the rule: none


@dataclass
class Signature:
    """What a call can pass positionally: the parameter names in order (self/cls left out), and whether *args exists."""

    positional: list[str]
    varargs: bool = False


@dataclass(eq=False)
class Definition:
    """A def or class somewhere in the project."""

    module: str
    qualname: str
    node: ast.AST
    kind: str  # "function", "method", "staticmethod", "classmethod" or "class"
    owner: "Definition | None" = None  # the class a method belongs to
    members: dict[str, "Definition"] = field(default_factory=dict)  # a class's methods
    bases: list[ast.expr] = field(default_factory=list)
    attributes: dict[str, ast.expr] | None = None  # a class's attribute name -> its annotation or assigned value


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _decorator_names(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> set[str]:
    names = set()
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        names.add(target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", ""))
    return names


def _function_kind(node: ast.FunctionDef | ast.AsyncFunctionDef, in_class: bool) -> str:
    decorators = _decorator_names(node)
    if not in_class:
        return "function"
    if "staticmethod" in decorators:
        return "staticmethod"
    if "classmethod" in decorators:
        return "classmethod"
    return "method"


class Project:
    """Every module under PROJECT_DIRS with its top-level names, parsed once."""

    def __init__(self, root: Path = ROOT) -> None:
        self.root = root
        self.trees: dict[str, ast.Module] = {}
        self.paths: dict[str, Path] = {}
        self.packages: set[str] = set()
        for directory in PROJECT_DIRS:
            for path in sorted((root / directory).rglob("*.py")):
                name = module_name(path, root)
                self.trees[name] = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
                self.paths[name] = path
                if path.name == "__init__.py":
                    self.packages.add(name)
        self.top_level: dict[str, dict[str, object]] = {name: self._bindings(name, tree.body)
                                                        for name, tree in self.trees.items()}
        self.method_names: dict[str, list[Definition]] = {}
        for names in self.top_level.values():
            for binding in names.values():
                if isinstance(binding, Definition) and binding.kind == "class":
                    for member in binding.members.values():
                        self.method_names.setdefault(member.qualname.rsplit(".", 1)[-1], []).append(member)

    # -- bindings -------------------------------------------------------------------------------------------------

    def _absolute(self, module: str, level: int, target: str | None) -> str:
        if level == 0:
            return target or ""
        package = module if module in self.packages else module.rpartition(".")[0]
        for _ in range(level - 1):
            package = package.rpartition(".")[0]
        return f"{package}.{target}" if target else package

    def definition(self, module: str, node: ast.AST, owner: Definition | None = None, prefix: str = "") -> Definition:
        qualname = f"{prefix}{node.name}"
        if isinstance(node, ast.ClassDef):
            cls = Definition(module, qualname, node, kind="class", owner=owner, bases=list(node.bases))
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    cls.members[item.name] = Definition(module, f"{qualname}.{item.name}", item,
                                                        kind=_function_kind(item, in_class=True), owner=cls)
            return cls
        return Definition(module, qualname, node, kind=_function_kind(node, in_class=False), owner=owner)

    def _bindings(self, module: str, body: list[ast.stmt], prefix: str = "") -> dict[str, object]:
        """Names a block of statements binds: Definitions, ("ref", module, name) for imports, ("module", name)."""
        names: dict[str, object] = {}
        for statement in _flatten(body):
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names[statement.name] = self.definition(module, statement, prefix=prefix)
            elif isinstance(statement, ast.Import):
                for alias in statement.names:
                    if alias.asname:
                        names[alias.asname] = ("module", alias.name)
                    else:
                        head = alias.name.split(".")[0]
                        names[head] = ("module", head)
            elif isinstance(statement, ast.ImportFrom):
                source = self._absolute(module, statement.level, statement.module)
                for alias in statement.names:
                    names[alias.asname or alias.name] = ("ref", source, alias.name)
        return names

    def follow(self, binding: object, seen: frozenset = frozenset()) -> Definition | str | None:
        """A Definition, a project module's name, or None (third-party, stdlib, or not a def)."""
        if isinstance(binding, (Definition, Instance)) or binding is None:
            return binding
        if binding in seen:
            return None
        kind, *rest = binding
        if kind == "module":
            return rest[0] if rest[0] in self.trees or any(m.startswith(rest[0] + ".") for m in self.trees) else None
        source, name = rest
        return self.attribute(source, name, seen | {binding})

    def attribute(self, module: str, name: str, seen: frozenset = frozenset()) -> Definition | str | None:
        """`module.name` seen from outside: a def, a submodule, or what the module re-exports."""
        if f"{module}.{name}" in self.trees or f"{module}.{name}" in self.packages:
            return f"{module}.{name}"
        if module not in self.trees:
            if any(m.startswith(f"{module}.{name}.") for m in self.trees):
                return f"{module}.{name}"
            return None
        return self.follow(self.top_level[module].get(name), seen)

    # -- signatures -----------------------------------------------------------------------------------------------

    def base_classes(self, cls: Definition) -> list[Definition]:
        found = []
        for base in cls.bases:
            resolved = self.resolve_expression(cls.module, base, scopes=[])
            if isinstance(resolved, Definition) and resolved.kind == "class" and resolved is not cls:
                found.append(resolved)
        return found

    def lookup_member(self, cls: Definition, name: str, depth: int = 0) -> Definition | None:
        if name in cls.members:
            return cls.members[name]
        if depth > 20:
            return None
        for base in self.base_classes(cls):
            member = self.lookup_member(base, name, depth + 1)
            if member is not None:
                return member
        return None

    def signature(self, definition: Definition, bound: bool = True) -> Signature | None:
        """The positional parameters of a call to the definition; None when they cannot be read from the source."""
        if definition.kind == "class":
            init = self.lookup_member(definition, "__init__")
            if init is not None:
                return self.signature(init)
            return self.dataclass_signature(definition)
        arguments = definition.node.args
        names = [a.arg for a in arguments.posonlyargs + arguments.args]
        if definition.kind == "classmethod" or (definition.kind == "method" and bound):
            names = names[1:]
        return Signature(names, arguments.vararg is not None)

    def dataclass_signature(self, cls: Definition, depth: int = 0) -> Signature | None:
        """Fields of a dataclass or NamedTuple in order, before any KW_ONLY marker; None for other classes."""
        decorators = cls.node.decorator_list
        is_dataclass = "dataclass" in _decorator_names(cls.node)
        base_names = {getattr(b, "id", getattr(b, "attr", "")) for b in cls.bases}
        if not is_dataclass and "NamedTuple" not in base_names:
            return None
        for decorator in decorators:
            if isinstance(decorator, ast.Call) and any(k.arg == "kw_only" and getattr(k.value, "value", False)
                                                       for k in decorator.keywords):
                return Signature([])
        names: list[str] = []
        for base in self.base_classes(cls):
            inherited = self.dataclass_signature(base, depth + 1) if depth < 20 else None
            names.extend(inherited.positional if inherited else [])
        for item in cls.node.body:
            if not (isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)):
                continue
            annotation = ast.unparse(item.annotation)
            if annotation.endswith("KW_ONLY"):
                break
            if "ClassVar" in annotation or _field_option(item.value, "init") is False:
                continue
            if _field_option(item.value, "kw_only") is True:
                continue
            if item.target.id not in names:
                names.append(item.target.id)
        return Signature(names)

    # -- resolving a call ---------------------------------------------------------------------------------------

    def resolve_expression(self, module: str, node: ast.expr, scopes: list[dict[str, object]]):
        """What a Name or dotted Attribute refers to: a Definition, an Instance, a project module name, or None."""
        if isinstance(node, ast.Name):
            for scope in reversed(scopes):
                if node.id in scope:
                    return self.follow(scope[node.id])
            return self.follow(self.top_level[module].get(node.id))
        if isinstance(node, ast.Attribute):
            owner = self.resolve_expression(module, node.value, scopes)
            if isinstance(owner, str):
                return self.attribute(owner, node.attr)
            if isinstance(owner, Definition) and owner.kind == "class":
                return self.lookup_member(owner, node.attr)
            if isinstance(owner, Instance):
                return self.lookup_member(owner.cls, node.attr) or self.attribute_type(owner.cls, node.attr)
        if isinstance(node, ast.Call):
            return self.value_type(module, node, scopes)
        return None

    def resolve_type(self, module: str, annotation: ast.expr | None, scopes: list[dict[str, object]]):
        """The project class an annotation names (`X`, `m.X`, `"X"`, `X | None`, `Optional[X]`), as an Instance."""
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            try:
                annotation = ast.parse(annotation.value, mode="eval").body
            except SyntaxError:
                return None
        if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
            return self.resolve_type(module, annotation.left, scopes) or \
                self.resolve_type(module, annotation.right, scopes)
        if isinstance(annotation, ast.Subscript) and getattr(annotation.value, "id", "") == "Optional":
            return self.resolve_type(module, annotation.slice, scopes)
        if isinstance(annotation, (ast.Name, ast.Attribute)):
            resolved = self.resolve_expression(module, annotation, scopes)
            if isinstance(resolved, Definition) and resolved.kind == "class":
                return Instance(resolved)
        return None

    def value_type(self, module: str, value: ast.expr | None, scopes: list[dict[str, object]]):
        """The project class of what an expression makes: `Class(...)`, or a call to a def annotated to return one."""
        if not isinstance(value, ast.Call):
            return None
        made = self.resolve_expression(module, value.func, scopes)
        if isinstance(made, Definition) and made.kind == "class":
            return Instance(made)
        if isinstance(made, Definition) and isinstance(made.node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            returned = made.node.returns
            if getattr(returned, "id", "") == "Self" and made.owner is not None:
                return Instance(made.owner)
            return self.resolve_type(made.module, returned, [])
        return None

    def attribute_type(self, cls: Definition, name: str, depth: int = 0):
        """The project class of `instance.name`: from the class's annotations or from `self.name = ...` in a method."""
        if cls.attributes is None:
            cls.attributes = {}
            for item in cls.node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    cls.attributes[item.target.id] = item.annotation
            for method in cls.members.values():
                for node in ast.walk(method.node):
                    target = node.target if isinstance(node, ast.AnnAssign) else \
                        node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None
                    if isinstance(target, ast.Attribute) and getattr(target.value, "id", "") == "self":
                        guess = node.annotation if isinstance(node, ast.AnnAssign) else node.value
                        cls.attributes.setdefault(target.attr, _parameter_annotation(method.node, guess))
        if name in cls.attributes:
            node = cls.attributes[name]
            if isinstance(node, ast.Call):
                return self.value_type(cls.module, node, [])
            return self.resolve_type(cls.module, node, [])
        if depth < 20:
            for base in self.base_classes(cls):
                found = self.attribute_type(base, name, depth + 1)
                if found is not None:
                    return found
        return None


@dataclass(frozen=True)
class Instance:
    """An object of a project class (what `self`, an annotated parameter or `x = Class(...)` stands for)."""

    cls: Definition


def _flatten(body: list[ast.stmt]):
    """Statements of a block, looking inside if/try/with (e.g. `if TYPE_CHECKING:` imports)."""
    for statement in body:
        yield statement
        if isinstance(statement, (ast.If, ast.Try, ast.With)):
            for block in ("body", "orelse", "finalbody"):
                yield from _flatten(getattr(statement, block, []))
            for handler in getattr(statement, "handlers", []):
                yield from _flatten(handler.body)


def _parameter_annotation(function: ast.FunctionDef | ast.AsyncFunctionDef, value: ast.expr) -> ast.expr:
    """A parameter's annotation where the value is that parameter (`self.net = net`), else the value itself."""
    if isinstance(value, ast.Name):
        arguments = function.args
        for param in arguments.posonlyargs + arguments.args + arguments.kwonlyargs:
            if param.arg == value.id and param.annotation is not None:
                return param.annotation
    return value


def _own_statements(node: ast.AST):
    """Every statement inside a function, not those of the functions and classes it defines."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(child, ast.stmt):
            yield child
        yield from _own_statements(child)


def _field_option(value: ast.expr | None, name: str):
    if isinstance(value, ast.Call) and getattr(value.func, "id", getattr(value.func, "attr", "")) == "field":
        for keyword in value.keywords:
            if keyword.arg == name and isinstance(keyword.value, ast.Constant):
                return keyword.value.value
    return None


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    call: ast.Call
    callee: Definition
    skip: int  # positionals the caller passes for self (Class.method(self, ...))

    @property
    def positional(self) -> int:
        return sum(not isinstance(a, ast.Starred) for a in self.call.args) - self.skip

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {ast.unparse(self.call.func)}(...) passes {self.positional} positionals"


class CallChecker(ast.NodeVisitor):
    """Walks one module with its scopes and collects the calls to project code with too many positionals."""

    def __init__(self, project: Project, module: str) -> None:
        self.project = project
        self.module = module
        self.path = str(project.paths[module].relative_to(project.root))
        self.scopes: list[dict[str, object]] = []
        self.classes: list[Definition] = []
        self.findings: list[Finding] = []

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        cls = self._own_definition(node)
        self.classes.append(cls)
        self.scopes.append({})  # a class body's names are not visible to its methods: an empty scope keeps order
        self.generic_visit(node)
        self.scopes.pop()
        self.classes.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        scope = self.project._bindings(self.module, node.body, prefix=f"{node.name}.<locals>.")
        self.scopes.append(scope)
        self._add_typed_names(node, scope)
        self.generic_visit(node)
        self.scopes.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def _add_typed_names(self, node: ast.FunctionDef | ast.AsyncFunctionDef, names: dict[str, object]) -> None:
        """Names in a function that stand for project objects: self/cls, annotated parameters, `x = Class(...)`."""
        project = self.project
        arguments = node.args
        params = arguments.posonlyargs + arguments.args + arguments.kwonlyargs
        for param in params:
            found = project.resolve_type(self.module, param.annotation, self.scopes)
            if found is not None:
                names[param.arg] = found
        cls = self.classes[-1] if self.classes and self.classes[-1].node.body.count(node) else None
        if cls is not None and params and "staticmethod" not in _decorator_names(node):
            names[params[0].arg] = cls if "classmethod" in _decorator_names(node) else Instance(cls)
        for statement in _own_statements(node):
            if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                found = project.resolve_type(self.module, statement.annotation, self.scopes)
            elif isinstance(statement, ast.Assign) and [type(t) for t in statement.targets] == [ast.Name]:
                found = project.value_type(self.module, statement.value, self.scopes)
            else:
                continue
            target = statement.target if isinstance(statement, ast.AnnAssign) else statement.targets[0]
            if found is not None and target.id not in names:
                names[target.id] = found

    def _own_definition(self, node: ast.ClassDef) -> Definition:
        scope = self.scopes[-1] if self.scopes and not self.classes else self.project.top_level[self.module]
        found = scope.get(node.name)
        if isinstance(found, Definition) and found.node is node:
            return found
        return self.project.definition(self.module, node)

    def visit_Call(self, node: ast.Call) -> None:
        callee, skip = self.callee(node.func)
        if callee is not None:
            finding = Finding(self.path, node.lineno, node, callee=callee, skip=skip)
            if finding.positional > MAX_POSITIONAL:
                self.findings.append(finding)
        self.generic_visit(node)

    def callee(self, func: ast.expr) -> tuple[Definition | None, int]:
        """The project def a call's target names, and how many positionals it passes for self (`Class.method(obj)`)."""
        project = self.project
        if not isinstance(func, ast.Attribute):
            resolved = project.resolve_expression(self.module, func, self.scopes)
            return (resolved if isinstance(resolved, Definition) else None), 0
        receiver = func.value
        if isinstance(receiver, ast.Call) and getattr(receiver.func, "id", "") == "super":
            cls = self.classes[-1] if self.classes else None
            for base in project.base_classes(cls) if cls is not None else []:
                member = project.lookup_member(base, func.attr)
                if member is not None:
                    return member, 0
            return None, 0
        owner = project.resolve_expression(self.module, receiver, self.scopes)
        if isinstance(owner, Instance):
            return project.lookup_member(owner.cls, func.attr), 0
        if isinstance(owner, Definition) and owner.kind == "class":
            member = project.lookup_member(owner, func.attr)
            return member, 1 if member is not None and member.kind == "method" else 0
        if isinstance(owner, str):
            found = project.attribute(owner, func.attr)
            return (found if isinstance(found, Definition) else None), 0
        if owner is None and not self._third_party(receiver):
            return self._by_method_name(func.attr), 0
        return None, 0

    def _third_party(self, receiver: ast.expr) -> bool:
        """Whether the receiver's leftmost name is an imported module or name from outside the project."""
        while isinstance(receiver, (ast.Attribute, ast.Call, ast.Subscript)):
            receiver = receiver.func if isinstance(receiver, ast.Call) else receiver.value
        if not isinstance(receiver, ast.Name):
            return False
        for scope in [*reversed(self.scopes), self.project.top_level[self.module]]:
            binding = scope.get(receiver.id)
            if isinstance(binding, tuple):
                return self.project.follow(binding) is None
        return False

    def _by_method_name(self, name: str) -> Definition | None:
        """A project method with this name, when every method of that name takes more than three positionals."""
        candidates = self.project.method_names.get(name, [])
        signatures = [self.project.signature(c) for c in candidates]
        if candidates and all(s is not None and len(s.positional) > MAX_POSITIONAL for s in signatures):
            return candidates[0]
        return None


def find_calls(project: Project, directories: tuple[str, ...] = CHECKED_DIRS) -> list[Finding]:
    findings = []
    for module in sorted(project.trees):
        if module.split(".")[0] not in directories:
            continue
        checker = CallChecker(project, module)
        checker.visit(project.trees[module])
        findings.extend(checker.findings)
    return findings


def test_calls_to_project_code_pass_arguments_after_the_third_by_keyword():
    findings = [f for f in find_calls(Project()) if f.path not in ALLOWED_FILES]
    assert not findings, "pass the arguments after the third by keyword:\n" + "\n".join(map(str, findings))


def test_the_checker_finds_each_way_a_project_callee_is_named(tmp_path):
    for directory in PROJECT_DIRS:
        (tmp_path / directory).mkdir()
    (tmp_path / "core" / "__init__.py").write_text("")
    (tmp_path / "core" / "shapes.py").write_text(
        "from dataclasses import dataclass, KW_ONLY\n"
        "def area(a, b, c, d=0):\n    return a\n"
        "@dataclass\nclass Box:\n    x: int\n    y: int\n    w: int\n    h: int\n"
        "    def moved(self, a, b, c, d):\n        return self\n"
        "    def twice(self):\n        return self.moved(1, 2, 3, 4)\n"
        "    @classmethod\n    def make(cls):\n        return cls(1, 2, 3, 4)\n"
        "@dataclass\nclass Dot:\n    x: int\n    _: KW_ONLY\n    y: int = 0\n"
        "    def moved(self, a):\n        return self\n"
        "    def box(self) -> Box:\n        return Box(1, 2, 3, h=4)\n"
    )
    (tmp_path / "app" / "__init__.py").write_text("from core.shapes import area as surface\n")
    (tmp_path / "app" / "use.py").write_text(
        "import numpy as np\nimport core.shapes\nfrom core import shapes\nfrom . import surface\n"
        "from core.shapes import Box, Dot\n"
        "def run(box, dot: Dot):\n"
        "    def local(a, b, c, d):\n        return a\n"
        "    local(1, 2, 3, 4)\n"
        "    surface(1, 2, 3, 4)\n"
        "    shapes.area(1, 2, 3, 4)\n"
        "    core.shapes.area(1, 2, 3, d=4)\n"
        "    Box.moved(box, 1, 2, 3)\n"
        "    Box.moved(box, 1, 2, 3, 4)\n"
        "    box.moved(1, 2, 3, 4)\n"
        "    dot.box().moved(1, 2, 3, 4)\n"
        "    made = dot.box()\n"
        "    made.moved(1, 2, 3, 4)\n"
        "    np.zeros(1, 2, 3, 4)\n"
        "    print(1, 2, 3, 4)\n"
        "class Holder:\n"
        "    def __init__(self, box: Box):\n        self.box = box\n        self.dot = Dot(1)\n"
        "    def use(self):\n        self.box.moved(1, 2, 3, 4)\n        self.dot.box().moved(1, 2, 3, 4)\n"
    )
    project = Project(tmp_path)
    found = sorted((f.path, f.line, f.callee.qualname, f.positional) for f in find_calls(project))
    assert found == [
        ("app/use.py", 9, "run.<locals>.local", 4),
        ("app/use.py", 10, "area", 4),
        ("app/use.py", 11, "area", 4),
        ("app/use.py", 14, "Box.moved", 4),
        ("app/use.py", 16, "Box.moved", 4),
        ("app/use.py", 18, "Box.moved", 4),
        ("app/use.py", 26, "Box.moved", 4),
        ("app/use.py", 27, "Box.moved", 4),
        ("core/shapes.py", 13, "Box.moved", 4),
        ("core/shapes.py", 16, "Box", 4),
    ], "line 15 stays unresolved: box has no annotation and two project classes define a moved"
    shapes_module = project.top_level["core.shapes"]
    assert project.signature(shapes_module["Box"]).positional == ["x", "y", "w", "h"]
    assert project.signature(shapes_module["Dot"]).positional == ["x"]
