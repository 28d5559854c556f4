#!/usr/bin/env python3
"""Confirms the expected renders of the real chat templates against transformers.

Reads tests/MambaGen.Tests/ChatTemplates/Templates/cases.json (the cases the C# RealTemplateTests assert, with their
hand-derived expected strings) and renders each case with transformers' own renderer,
transformers.utils.chat_template_utils.render_jinja_template, called exactly as
PreTrainedTokenizerBase.apply_chat_template(messages, tools=..., add_generation_prompt=..., tokenize=False, **kwargs)
calls it: conversations=[messages], tools, documents=None, chat_template, return_assistant_tokens_mask=False,
continue_final_message=False, add_generation_prompt, then {**special_tokens_map, **kwargs} where the special tokens are
the case's bos_token/eos_token (only those given, as a tokenizer without one leaves it out). strftime_now reads the
case file's fixed "now" (transformers' module-level datetime is replaced for the run; checked before the cases).

Usage (from the repository root; no network needed):
    python3 bench/gpu/chat_templates.py OUT_DIR
    python3 bench/gpu/chat_templates.py OUT_DIR --jinja-replica   # without transformers: plain jinja2 set up as
                                                                  # transformers sets it up (a pre-check, NOT a confirmation)
Writes OUT_DIR/chat_templates.json (every case: status, expected, actual, first difference, diff) and
OUT_DIR/chat_templates.md (a table); prints the table. Exit status 0 when every case matches, 1 otherwise.
"""
import datetime as _dt
import difflib
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEMPLATES = os.path.join(ROOT, "tests", "MambaGen.Tests", "ChatTemplates", "Templates")


def fixed_datetime(now):
    class FixedDatetime(_dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return cls.fromisoformat(now)

    return FixedDatetime


def transformers_renderer(now):
    import jinja2
    try:
        import transformers
        import transformers.utils.chat_template_utils as ctu
    except ImportError as e:
        sys.exit(f"transformers is not importable here ({e}); run on the GPU machine, or pass --jinja-replica for a pre-check")

    if not hasattr(ctu, "render_jinja_template"):
        sys.exit(f"transformers {transformers.__version__} has no chat_template_utils.render_jinja_template")
    if not isinstance(getattr(ctu, "datetime", None), type):
        sys.exit("transformers' chat_template_utils does not import the datetime class as 'datetime': strftime_now's clock cannot be fixed")
    ctu.datetime = fixed_datetime(now)

    def render(source, messages, tools, add_generation_prompt, template_kwargs):
        rendered, _ = ctu.render_jinja_template(
            conversations=[messages], tools=tools, documents=None, chat_template=source,
            return_assistant_tokens_mask=False, continue_final_message=False,
            add_generation_prompt=add_generation_prompt, **template_kwargs)
        return rendered[0]

    escapes = None
    try:
        import inspect
        from transformers.tokenization_utils_base import PreTrainedTokenizerBase
        escapes = "escape_special_tokens" in inspect.getsource(PreTrainedTokenizerBase.apply_chat_template)
    except Exception as e:  # only a note for the report
        escapes = f"unknown ({type(e).__name__}: {e})"
    info = {"label": "transformers", "renderer": "transformers.utils.chat_template_utils.render_jinja_template",
            "transformers": transformers.__version__, "jinja2": jinja2.__version__,
            "apply_chat_template_escapes_special_tokens_in_content": escapes}
    return render, jinja2.exceptions.TemplateError, info


def replica_renderer(now):
    """jinja2 as transformers' _compile_jinja_template sets it up (without the {% generation %} tracker: no case uses it)."""
    import jinja2
    import jinja2.ext
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    clock = fixed_datetime(now)

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: clock.now().strftime(fmt)

    def render(source, messages, tools, add_generation_prompt, template_kwargs):
        return env.from_string(source).render(messages=messages, tools=tools, documents=None,
                                              add_generation_prompt=add_generation_prompt, **template_kwargs)

    info = {"label": "jinja2 replica", "renderer": "jinja2 replica of transformers' _compile_jinja_template (NOT transformers: a pre-check only)",
            "transformers": None, "jinja2": jinja2.__version__}
    return render, jinja2.exceptions.TemplateError, info


def first_difference(expected, actual):
    i = next((k for k, (a, b) in enumerate(zip(expected, actual)) if a != b), min(len(expected), len(actual)))
    return {"index": i, "expected": expected[max(0, i - 30):i + 30], "actual": actual[max(0, i - 30):i + 30]}


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 1:
        sys.exit(__doc__)
    out_dir = args[0]
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(TEMPLATES, "cases.json"), encoding="utf-8") as f:
        doc = json.load(f)
    now = doc["now"]
    make = replica_renderer if "--jinja-replica" in sys.argv else transformers_renderer
    render, template_error, info = make(now)

    # The fixed clock must reach strftime_now, or every dated case would differ for the wrong reason.
    probe = render("{{ strftime_now('%Y-%m-%dT%H:%M:%S') }}", [], None, False, {})
    if probe != now:
        sys.exit(f"strftime_now gave {probe!r}, not the fixed clock {now!r}")

    results = []
    for case in doc["cases"]:
        with open(os.path.join(TEMPLATES, case["template"]), encoding="utf-8") as f:
            source = f.read()
        variables = dict(case.get("variables", {}))
        tools = variables.pop("tools", None)  # apply_chat_template's own argument
        special = {k: case[k] for k in ("bos_token", "eos_token") if k in case}
        template_kwargs = {**special, **variables}
        result = {"name": case["name"], "template": case["template"]}
        try:
            actual = render(source, case["messages"], tools, case["add_generation_prompt"], template_kwargs)
            result["actual"] = actual
        except template_error as e:
            actual = None
            result["raised"] = str(e)
        except Exception as e:
            actual = None
            result["error"] = f"{type(e).__name__}: {e}"
        if "raises" in case:
            result["expected_raise"] = case["raises"]
            result["status"] = "match" if result.get("raised") == case["raises"] else "mismatch"
        else:
            expected = case["expected"]
            result["expected"] = expected
            if actual == expected:
                result["status"] = "match"
            else:
                result["status"] = "mismatch"
                if actual is not None:
                    result["first_difference"] = first_difference(expected, actual)
                    result["diff"] = "".join(difflib.unified_diff(
                        expected.splitlines(keepends=True), actual.splitlines(keepends=True), "expected (cases.json)", info["label"]))
        results.append(result)

    matched = sum(r["status"] == "match" for r in results)
    report = {**info, "now": now, "cases_file": "tests/MambaGen.Tests/ChatTemplates/Templates/cases.json",
              "matched": matched, "total": len(results), "cases": results}
    with open(os.path.join(out_dir, "chat_templates.json"), "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2, ensure_ascii=False)
    lines = [f"# Chat templates: {matched}/{len(results)} cases match", "",
             f"Renderer: {info['renderer']}; transformers {info['transformers']}, jinja2 {info['jinja2']}; strftime_now fixed at {now}.", ""]
    if "apply_chat_template_escapes_special_tokens_in_content" in info:
        lines += [f"apply_chat_template escapes special tokens in message content: {info['apply_chat_template_escapes_special_tokens_in_content']}", ""]
    lines += ["| case | template | status |", "|---|---|---|"]
    lines += [f"| {r['name']} | {r['template']} | {r['status']} |" for r in results]
    for r in results:
        if r["status"] != "match":
            lines += ["", f"## {r['name']}", "", "```diff", r.get("diff") or json.dumps({k: r.get(k) for k in ("expected_raise", "raised", "error", "first_difference") if k in r}, ensure_ascii=False, indent=2), "```"]
    text = "\n".join(lines) + "\n"
    with open(os.path.join(out_dir, "chat_templates.md"), "w", encoding="utf-8") as f:
        f.write(text)
    print(text)
    return 0 if matched == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
