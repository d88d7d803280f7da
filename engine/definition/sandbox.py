"""The one sandbox plan templates render in, and the limits that keep a render bounded.

Owned here, in the lowest layer, so that `driftplan validate` (engine.definition.checks) and the
service (engine.service.messages) render with exactly the same environment: a template that
passes the checker cannot meet a stricter sandbox at run time, and the reverse.

Jinja2's `SandboxedEnvironment` stops attribute escapes (`''.__class__`) and caps `range` at
`MAX_RANGE` (100 000) items, but a template may still loop over such a range inside another
(10^10 steps), or build and print values far larger than any message. So every render runs under
a budget (`render_bounded`):

- a deadline (`RENDER_SECONDS`), checked in every sandbox hook (attribute and item access, every
  call, the intercepted operators, every filter), at every step of every `{% for %}` loop (the
  `_LoopGuard` extension routes each loop's iterable through a checking generator, so even an empty
  loop body cannot spin unseen), and at every chunk of output;
- a size limit on the output (`MAX_OUTPUT`), counted as the output streams out of
  `Template.generate`, so a runaway loop stops at the limit instead of filling memory;
- a size limit on any one value a template builds (`MAX_VALUE`: `*`, `+`, `%`, string methods
  and filters that widen text are checked before they run, every call's result after), and on the
  total it builds in one render (`MAX_WORK`), so `'x' * 10000` in a loop cannot grow a list or a
  namespace to gigabytes without printing anything.

Exceeding a limit raises `RenderLimitExceeded` naming the limit; the callers turn it into their
own error (a `MessageError`, a located plan problem).
"""

from __future__ import annotations

import contextvars
import functools
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any

from jinja2 import ChainableUndefined, Template
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

from engine.definition.wording import template_filters

__all__ = [
    "APPROVAL_KEYS",
    "DECISION_KEYS",
    "MAX_OUTPUT",
    "MAX_REPEAT",
    "MAX_VALUE",
    "MAX_WORK",
    "RENDER_SECONDS",
    "RESERVED",
    "TIMER_KEYS",
    "FieldText",
    "RenderLimitExceeded",
    "compile_template",
    "render_bounded",
]

# One message is read by people: a few KiB. 256 KiB of text is far beyond any real notice and
# small enough that a thousand of them (a fan-out) still fit in memory.
MAX_OUTPUT = 256 * 1024
# No single value a template builds may be larger than the message it could appear in.
MAX_VALUE = MAX_OUTPUT
# All values built during one render: generous (128 messages' worth) for filters chained over
# long operator text, yet a memory bomb stops at tens of MiB instead of gigabytes.
MAX_WORK = 128 * MAX_OUTPUT
# Real templates render in milliseconds; 2 s is plenty on a loaded machine, and short enough that
# a command (which renders before it commits) or `validate` does not seem to hang.
RENDER_SECONDS = 2.0
# `'x' * n` in a template: enough for any real message (a separator line), not for a bomb.
MAX_REPEAT = 10_000
_MAX_EXPONENT = 100

# Top-level names the engine fills; plan fields may not shadow them (engine.service.messages).
RESERVED = (
    "service", "incident", "document", "approval", "decision", "timer", "now", "exercise",
    "language",
)  # fmt: skip
# The `approval` variables of gate messages (request, reminder, expiry).
APPROVAL_KEYS = [
    "id", "title", "approvers", "requested_by", "requested_by_id", "requested_at", "contacts",
    "expires_at", "subregions", "url",
]  # fmt: skip
# The `decision` variables of messages a decision set off: the role the decider decided in
# (its title), the person's name, and the decision's time, comment and phone record.
DECISION_KEYS = ["role", "by", "by_id", "at", "comment", "recorded_by", "reference"]
# The `timer` variables of messages a state timer sends: `every`/`after` are durations, worded
# by the `duration` filter ("1 timme").
TIMER_KEYS = ["id", "title", "every", "after"]

_LOOP_FILTER = "driftplan_loop_guard"
_NUMBER = re.compile(r"\d+")
# str methods whose first argument is a width: the result is at least that long.
_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill"})


class RenderLimitExceeded(Exception):
    """A render went past one of the limits; `limit` says which, in words."""

    def __init__(self, limit: str) -> None:
        super().__init__(limit)
        self.limit = limit


class FieldText(str):
    """A field's display text whose truth is the stored value's truth.

    A bool field shows as "ja"/"nej", but `{% if total_it_breakdown %}` must test the value, not
    whether the word "nej" is non-empty.
    """

    truthy: bool

    def __new__(cls, text: str, truthy: bool) -> FieldText:
        obj = super().__new__(cls, text)
        obj.truthy = truthy
        return obj

    def __bool__(self) -> bool:
        return self.truthy


class PrintStrictUndefined(ChainableUndefined):
    """Lenient in tests (`{% if details %}`, `approval.url`), strict when printed.

    Every plan field is always in the context (empty when unset), so printing an undefined
    name is a typo in the template — or a sandbox refusal, which must not render as "".
    """

    def __str__(self) -> str:
        self._fail_with_undefined_error()
        return ""  # not reached: the call above always raises


@dataclass
class _Budget:
    """What one render may still spend; lives in a context variable for that render only."""

    deadline: float
    output: int = 0
    work: int = 0

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise RenderLimitExceeded(f"the time limit of {RENDER_SECONDS:g} s per message")

    def charge(self, size: int) -> None:
        if size > MAX_VALUE:
            raise RenderLimitExceeded(
                f"the size limit of {MAX_VALUE // 1024} KiB for one value in a template"
            )
        self.work += size
        if self.work > MAX_WORK:
            raise RenderLimitExceeded(
                f"the limit of {MAX_WORK // (1024 * 1024)} MiB built in total by one template"
            )


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar(
    "driftplan_render_budget", default=None
)


def _tick() -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.tick()


def _charge(size: int) -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.charge(size)


def _size(value: object) -> int:
    """Roughly how much text a value holds: strings by length, containers one level deep."""
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, Mapping):
        items: Iterable[object] = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple | set | frozenset):
        items = value
    else:
        return 0
    # A container's size is its length plus its strings' lengths; a huge one is over anyway.
    sample = islice(items, MAX_VALUE + 1)
    return len(value) + sum(len(v) for v in sample if isinstance(v, str | bytes))


def _check_numbers(text: str, what: str) -> None:
    """Refuse a format string whose widths or precisions could build a huge value."""
    if any(int(number) > MAX_VALUE for number in _NUMBER.findall(text)):
        raise RenderLimitExceeded(
            f"the size limit of {MAX_VALUE // 1024} KiB for one value ({what} with a huge width)"
        )


def _check_call(obj: Any, args: tuple[Any, ...]) -> None:
    """Estimate, before it runs, what a string method that widens text would build."""
    method = getattr(obj, "__wrapped__", obj)  # the sandbox wraps str.format at access
    owner = getattr(method, "__self__", None)
    if not isinstance(owner, str):
        return
    name = getattr(method, "__name__", "")
    if name in _WIDTH_METHODS and args and isinstance(args[0], int):
        _charge(args[0])
    elif name in ("format", "format_map"):
        _check_numbers(owner, "str.format")
    elif name == "expandtabs":
        _charge(len(owner) * (args[0] if args and isinstance(args[0], int) else 8))
    elif name == "replace" and len(args) >= 2 and all(isinstance(a, str) for a in args[:2]):
        _charge(_replaced_size(owner, args[0], args[1]))
    elif name == "join" and args:
        _charge(_joined_size(args[0], owner))


def _joined_size(values: object, separator: str) -> int:
    """About how long `separator.join(values)` is (0 for an iterator: checked afterwards)."""
    count = len(values) if isinstance(values, list | tuple | set | frozenset | Mapping) else 0
    return _size(values) + count * len(separator)


def _replaced_size(text: str, old: str, new: str) -> int:
    count = text.count(old) if old else len(text) + 1
    return len(text) + count * max(0, len(new) - len(old))


def _filter_precheck(name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """The filters that can widen text, checked before they run.

    `args` are as jinja passes them: `join` and `replace` get the eval context first.
    """
    if name in ("center", "indent"):
        width = args[1] if len(args) >= 2 else kwargs.get("width", 0)
        if isinstance(width, int) and args:
            lines = str(args[0]).count("\n") + 1 if name == "indent" else 1
            _charge(_size(args[0]) + lines * width)
    elif name == "format" and args and isinstance(args[0], str):
        _check_numbers(args[0], "the format filter")
    elif name == "join" and len(args) >= 2:
        separator = args[2] if len(args) >= 3 else kwargs.get("d", "")
        _charge(_joined_size(args[1], str(separator)))
    elif name == "replace" and len(args) >= 4:
        _charge(_replaced_size(str(args[1]), str(args[2]), str(args[3])))


def _guarded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)  # keeps jinja's pass_context/pass_environment marks
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _tick()
        _filter_precheck(name, args, kwargs)
        result = function(*args, **kwargs)
        _charge(_size(result))
        return result

    return guarded


def _loop_guard(iterable: Iterable[Any]) -> Iterator[Any]:
    """Each loop step checks the deadline, so nested loops stop however empty their body."""
    for item in iterable:
        _tick()
        yield item


class _LoopGuard(Extension):
    """Rewrites `{% for x in EXPR %}` to `{% for x in (EXPR)|driftplan_loop_guard %}`.

    Token-stream filtering is Jinja's public extension API; the compiled code then iterates
    through `_loop_guard`. The iterable ends where Jinja's parser ends it: at `if` (loop filter),
    `recursive` or the end of the tag, outside brackets.
    """

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        state = "text"  # text -> target (after `for`) -> iterable (after `in`)
        depth = 0
        previous = ""
        for token in stream:
            if state == "text":
                if token.test("name:for") and previous == "block_begin":
                    state = "target"
            elif state == "target":
                if token.test("name:in"):
                    yield token
                    yield Token(token.lineno, "lparen", "(")
                    state, depth = "iterable", 0
                    previous = token.type
                    continue
            elif token.type in ("lparen", "lbracket", "lbrace"):
                depth += 1
            elif token.type in ("rparen", "rbracket", "rbrace"):
                depth -= 1
            elif depth == 0 and (
                token.type == "block_end" or token.test("name:if") or token.test("name:recursive")
            ):
                yield Token(token.lineno, "rparen", ")")
                yield Token(token.lineno, "pipe", "|")
                yield Token(token.lineno, "name", _LOOP_FILTER)
                state = "text"
            previous = token.type
            yield token


class Sandbox(SandboxedEnvironment):
    """The stock sandbox plus the budget: a deadline in every hook, sizes checked where built."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self) -> None:
        # Autoescape stays off: the output is plain text (mail bodies, banners); HTML is derived
        # from it by escaping everything, so no value is ever trusted as markup.
        super().__init__(undefined=PrintStrictUndefined, autoescape=False, extensions=[_LoopGuard])
        # lipsum(n, ...) writes n paragraphs at the caller's choice: nothing a notice needs.
        self.globals.pop("lipsum", None)
        self.filters.update(template_filters())  # language-aware lists, durations, times
        self.filters = {name: _guarded_filter(name, f) for name, f in self.filters.items()}
        self.filters[_LOOP_FILTER] = _loop_guard

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _tick()
        if operator == "**" and isinstance(right, int) and abs(right) > _MAX_EXPONENT:
            raise RenderLimitExceeded(f"the limit of {_MAX_EXPONENT} on an exponent")
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(count, int):
                    if count * len(seq) > MAX_REPEAT:
                        raise RenderLimitExceeded(
                            f"the limit of {MAX_REPEAT} items for one repetition (`*`)"
                        )
                    _charge(count * _size(seq))
        elif operator == "+" and not isinstance(left, int | float):
            _charge(_size(left) + _size(right))
        elif operator == "%" and isinstance(left, str):
            _check_numbers(left, "a % format")
        result = super().call_binop(context, operator, left, right)
        if operator == "%":
            _charge(_size(result))
        return result

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        _tick()
        _check_call(__obj, args)
        result = super().call(__context, __obj, *args, **kwargs)
        _charge(_size(result))
        return result

    def getattr(self, obj: Any, attribute: str) -> Any:
        _tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _tick()
        return super().getitem(obj, argument)


ENV = Sandbox()


def compile_template(source: str) -> Template:
    """A template of the plan, compiled in the sandbox (raises jinja's `TemplateSyntaxError`).

    Jinja folds constant expressions while compiling, calling filters such as
    `'x'|center(10**8)` right there: a budget applies then too, and a filter over it is left
    for the render (jinja gives up folding on any error), where the budget refuses it again.
    """
    token = _BUDGET.set(_Budget(deadline=time.monotonic() + RENDER_SECONDS))
    try:
        return ENV.from_string(source)
    finally:
        _BUDGET.reset(token)


def render_bounded(template: Template, values: Mapping[str, Any]) -> str:
    """Render `template` with `values` within the limits, or raise `RenderLimitExceeded`.

    Every other error (undefined names, sandbox refusals, a failing filter) propagates as jinja
    or Python raises it; the callers say which template it was.
    """
    budget = _Budget(deadline=time.monotonic() + RENDER_SECONDS)
    token = _BUDGET.set(budget)
    try:
        parts: list[str] = []
        for chunk in template.generate(values):
            budget.output += len(chunk)
            if budget.output > MAX_OUTPUT:
                raise RenderLimitExceeded(
                    f"the size limit of {MAX_OUTPUT // 1024} KiB of text per message"
                )
            budget.tick()
            parts.append(chunk)
        return "".join(parts)
    finally:
        _BUDGET.reset(token)
