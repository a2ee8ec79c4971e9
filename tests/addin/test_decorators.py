"""The decorator metadata Excel will see, checked on Linux where the decorators are no-ops.

On Linux ``xlwings.func/arg/ret/script`` return the function unchanged and record nothing
(verified below: no ``__xlfunc__``), so a misspelt ``@arg`` name would pass silently. Two checks
close that gap: validating recorders patched in for the no-ops, and xlwings' own classic
``xlfunc``/``xlarg`` (from the installed ``xlwings/udfs.py``, which cannot be imported here
because it needs pywin32) executed on our functions.
"""
from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
from pathlib import Path

import pytest
import xlwings

import excel_addin.functions as functions

ROOT = Path(__file__).resolve().parents[2]
LITE_MAIN = ROOT / "workbook_templates" / "xlwings_lite" / "main.py"
EXPECTED = {"cs_nps", "cs_csat", "cs_ces", "cs_nrr", "cs_grr", "cs_logo_churn", "cs_movements", "cs_kpi",
            "cs_health", "cs_kpi_list"}


def test_on_linux_the_decorators_are_no_ops():
    assert not hasattr(functions.cs_nps, "__xlfunc__")
    assert xlwings.func(functions.cs_nps) is functions.cs_nps


class Recorder:
    """Stands in for xlwings' func/arg/ret/script and checks what the real ones check."""

    def __init__(self):
        self.funcs, self.args, self.scripts = {}, [], {}

    def func(self, f=None, **kw):
        def inner(fn):
            self.funcs[fn.__name__] = kw
            return fn
        return inner(f) if f is not None else inner

    def arg(self, name, convert=None, **kw):
        def inner(fn):
            params = inspect.signature(fn).parameters
            if name.lstrip("*") not in params:
                raise AssertionError(f"@arg({name!r}) on {fn.__name__}: no such parameter ({', '.join(params)})")
            self.args.append((fn.__name__, name, kw))
            return fn
        return inner

    def ret(self, convert=None, **kw):
        return lambda fn: fn

    def script(self, f=None, **kw):
        def inner(fn):
            self.scripts[fn.__name__] = kw
            return fn
        return inner(f) if f is not None else inner


@pytest.fixture
def recorder(monkeypatch):
    rec = Recorder()
    for name in ("func", "arg", "ret", "script"):
        monkeypatch.setattr(xlwings, name, getattr(rec, name))
    yield rec
    importlib.reload(functions)  # back to the plain no-op-decorated module


def test_every_arg_name_exists_in_the_signature(recorder):
    importlib.reload(functions)
    assert set(recorder.funcs) == EXPECTED
    decorated = {(f, a) for f, a, _ in recorder.args}
    for fn in functions.FUNCTIONS:
        for p in inspect.signature(fn).parameters:
            assert (fn.__name__, p) in decorated, f"{fn.__name__}({p}) has no @arg: Excel would get no doc/ndim"
    tables = [(f, a) for f, a, kw in recorder.args if kw.get("ndim") == 2]
    assert ("cs_nrr", "table") in tables and ("cs_nps", "scores") in tables


def test_the_recorder_catches_a_misspelt_arg(recorder):
    with pytest.raises(AssertionError, match="no such parameter"):
        @xlwings.func
        @xlwings.arg("tabel", ndim=2)
        def f(table):
            return table


def test_no_type_hints_on_function_parameters():
    # the classic decorators turn a parameter annotation into a converter
    for fn in functions.FUNCTIONS:
        assert not any(p.annotation is not inspect.Parameter.empty for p in inspect.signature(fn).parameters.values())


def _classic_decorators():
    """xlfunc/xlarg/xlret from the installed xlwings/udfs.py, without importing pywin32."""
    src = Path(xlwings.__file__).with_name("udfs.py")
    tree = ast.parse(src.read_text(encoding="utf-8"))
    wanted = {"func_sig", "get_category", "get_async_mode", "check_bool", "extract_type_and_annotations",
              "xlfunc", "xlret", "xlarg"}
    body = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in wanted]
    if {n.name for n in body} != wanted:
        pytest.skip("this xlwings version's udfs.py is laid out differently")
    module = ast.Module(body=body, type_ignores=[])
    ns = {}
    exec("import datetime as dt, inspect\nfrom typing import *\nfrom typing import get_type_hints, get_origin, "
         "get_args, Annotated\n_F = TypeVar('_F')", ns)
    exec(compile(module, str(src), "exec"), ns)
    return ns


def test_xlwings_classic_decorators_accept_our_functions(monkeypatch):
    ns = _classic_decorators()
    monkeypatch.setattr(xlwings, "func", ns["xlfunc"])
    monkeypatch.setattr(xlwings, "arg", ns["xlarg"])
    monkeypatch.setattr(xlwings, "ret", ns["xlret"])
    try:
        mod = importlib.reload(functions)
        for fn in mod.FUNCTIONS:
            meta = fn.__xlfunc__
            assert meta["category"] == "cs-desk"
            assert [a["name"] for a in meta["args"]] == list(inspect.signature(fn).parameters)
            assert meta["ret"]["doc"] == fn.__doc__
            for a in meta["args"]:
                assert a["doc"] and not a["doc"].startswith("Positional argument"), (fn.__name__, a["name"])
                assert "convert" not in a["options"], (fn.__name__, a["name"])
        nrr = {a["name"]: a for a in mod.cs_nrr.__xlfunc__["args"]}
        assert nrr["table"]["options"] == {"ndim": 2, "err_to_str": True}
        assert nrr["from_month"]["optional"] is None
    finally:
        monkeypatch.undo()
        importlib.reload(functions)


def _load_lite_main():
    spec = importlib.util.spec_from_file_location("cs_desk_lite_main", LITE_MAIN)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_lite_main_imports_and_mirrors_the_functions_module(recorder):
    lite = _load_lite_main()
    assert set(recorder.funcs) == EXPECTED
    assert set(recorder.scripts) == {"refresh_cs_desk"}
    for fn in functions.FUNCTIONS:
        mine = getattr(lite, fn.__name__)
        assert inspect.signature(mine) == inspect.signature(fn), fn.__name__
    assert inspect.signature(lite.refresh_cs_desk).parameters["book"].annotation is xlwings.Book
    nrr = lite.cs_nrr([["account_id", "month", "mrr"], ["a", "2024-01", 10.0], ["a", "2024-02", 12.0]])
    assert nrr == pytest.approx(1.2)


def test_lite_requirements_install_cs_desk():
    reqs = (LITE_MAIN.parent / "requirements.txt").read_text().split()
    assert "cs-desk" in reqs and "xlwings" in reqs


def test_server_package_reexports_every_function_and_the_script():
    import excel_addin.server.custom_functions as cf
    import excel_addin.server.custom_scripts as cs

    # the same functions (compared by where they are defined: other tests reload the module)
    assert {n for n in EXPECTED if getattr(getattr(cf, n, None), "__module__", "") == "excel_addin.functions"
            and getattr(cf, n).__name__ == n} == EXPECTED
    from excel_addin.scripts import refresh_cs_desk

    assert cs.refresh_cs_desk is refresh_cs_desk


def test_no_licence_key_anywhere_in_the_addin():
    for path in list((ROOT / "excel_addin").rglob("*")) + list((ROOT / "workbook_templates").rglob("*")):
        if path.is_file() and path.suffix in (".py", ".md", ".toml", ".txt", ".bas", ".xml", ".conf", ".env"):
            text = path.read_text(encoding="utf-8", errors="replace")
            for line in text.splitlines():
                if "LICENSE_KEY" in line and "=" in line and not line.strip().startswith(("#", "(", "`", "|", "*", "-")):
                    value = line.split("=", 1)[1].strip().strip("\"'` ")
                    assert value in ("", "$XLWINGS_LICENSE_KEY") or " " in value, f"{path}: {line}"
