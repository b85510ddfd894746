"""Building blocks for the trees rules propose as fixes. Each returns a new node built from the
old one with libcst's `with_changes`, so the comments and spacing it holds stay where they were."""

from __future__ import annotations

from typing import Sequence

import libcst as cst

def expression(code: str) -> cst.BaseExpression:
    return cst.parse_expression(code)


def statement_line(code: str) -> cst.SimpleStatementLine:
    parsed = cst.parse_statement(code)
    if not isinstance(parsed, cst.SimpleStatementLine):
        raise ValueError(f"not a simple statement: {code!r}")
    return parsed


def renamed_call(call: cst.Call, name: str) -> cst.Call | None:
    """`F.softmax(x)` as `F.log_softmax(x)`: the last part of the called name replaced; None
    for a call of a bare name (its new name may not be imported)."""
    if not isinstance(call.func, cst.Attribute):
        return None
    return call.with_changes(func=call.func.with_changes(attr=cst.Name(name)))


def hoisted(inner: cst.BaseExpression, outer: cst.BaseExpression) -> cst.BaseExpression:
    """`inner` standing where `outer` stood (`f(g(x))` becoming `g'(x)`): outer's parentheses,
    and the comments and line breaks inside outer's own brackets, move onto `inner`."""
    if not inner.lpar and outer.lpar:
        inner = inner.with_changes(lpar=outer.lpar, rpar=outer.rpar)
    if not (isinstance(inner, cst.Call) and isinstance(outer, cst.Call)):
        return inner
    if _is_plain(inner.whitespace_before_args) and not _is_plain(outer.whitespace_before_args):
        inner = inner.with_changes(whitespace_before_args=outer.whitespace_before_args)
    outer_args = [arg for arg in outer.args if arg.value is not None]
    if inner.args and len(outer_args) == 1:
        last = inner.args[-1]
        trailing = outer_args[0].whitespace_after_arg
        if _is_plain(last.whitespace_after_arg) and not _is_plain(trailing):
            inner = inner.with_changes(args=(*inner.args[:-1], last.with_changes(whitespace_after_arg=trailing)))
    return inner


def _is_plain(whitespace: cst.BaseParenthesizableWhitespace) -> bool:
    return isinstance(whitespace, cst.SimpleWhitespace) and whitespace.value == ""


def with_keyword(call: cst.Call, keyword: str, value: cst.BaseExpression) -> cst.Call:
    """The call with `keyword=value` added after its last argument, in the call's own layout
    (one line, or one argument per line with or without a trailing comma); comments stay with
    the arguments they follow."""
    new_arg = cst.Arg(value=value, keyword=cst.Name(keyword),
                      equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")))
    args = list(call.args)
    if not args:
        return call.with_changes(args=[new_arg])
    last = args[-1]
    separator = _separator(call, args)
    if isinstance(last.comma, cst.Comma):  # a trailing comma: the new argument gets one too
        args[-1] = last.with_changes(comma=continued(last.comma, separator))
        new_arg = new_arg.with_changes(comma=without_comment(last.comma))
    else:
        args[-1] = last.with_changes(comma=separator, whitespace_after_arg=cst.SimpleWhitespace(""))
        new_arg = new_arg.with_changes(whitespace_after_arg=last.whitespace_after_arg)
    return call.with_changes(args=[*args, new_arg])


def _separator(call: cst.Call, args: Sequence[cst.Arg]) -> cst.Comma:
    """The comma between two arguments as this call writes it, without any comment."""
    between = [arg.comma for arg in args[:-1] if isinstance(arg.comma, cst.Comma)]
    if between:
        return without_comment(between[-1])
    if not isinstance(call.whitespace_before_args, cst.SimpleWhitespace):  # arguments on lines of their own
        return cst.Comma(whitespace_after=call.whitespace_before_args)
    return cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))


def without_comment(comma: cst.Comma) -> cst.Comma:
    """The comma, with the comment and blank lines after it removed (its line break kept)."""
    after = comma.whitespace_after
    if isinstance(after, cst.ParenthesizedWhitespace):
        after = after.with_changes(first_line=cst.TrailingWhitespace(), empty_lines=())
    return comma.with_changes(whitespace_after=after)


def continued(comma: cst.Comma, separator: cst.Comma) -> cst.Comma:
    """A trailing comma that now separates: its comment kept, the next line indented as the
    separator indents it."""
    after, between = comma.whitespace_after, separator.whitespace_after
    if isinstance(after, cst.ParenthesizedWhitespace) and isinstance(between, cst.ParenthesizedWhitespace):
        return comma.with_changes(whitespace_after=after.with_changes(indent=between.indent,
                                                                      last_line=between.last_line))
    return separator


def with_argument_value(call: cst.Call, arg: cst.Arg, value: cst.BaseExpression) -> cst.Call:
    """The call with one argument's value replaced (its keyword, comma and comments kept)."""
    return call.with_changes(args=[a.with_changes(value=value) if a is arg else a for a in call.args])


def without_argument(call: cst.Call, arg: cst.Arg) -> cst.Call:
    """The call without one argument; the comma after the argument before it is what the removed
    argument had (none, or a trailing comma)."""
    args = list(call.args)
    index = args.index(arg)
    del args[index]
    if index == len(args) and args:
        args[-1] = args[-1].with_changes(comma=arg.comma, whitespace_after_arg=arg.whitespace_after_arg)
    return call.with_changes(args=args)


def with_keyword_renamed(call: cst.Call, arg: cst.Arg, keyword: str) -> cst.Call:
    return call.with_changes(args=[a.with_changes(keyword=cst.Name(keyword)) if a is arg else a for a in call.args])


def method_call(receiver: cst.BaseExpression, method: str, arguments: str = "") -> cst.Call:
    """`receiver.method(arguments)`, parenthesizing a receiver that needs it (`(a + b).item()`)."""
    if not isinstance(receiver, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)) and not receiver.lpar:
        receiver = receiver.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    args = expression(f"_({arguments})").args if arguments else ()
    return cst.Call(func=cst.Attribute(value=receiver, attr=cst.Name(method)), args=args)


def self_parameter(method: cst.FunctionDef) -> str | None:
    """The name a method calls its instance by (`self`), None for a static or class method."""
    decorators = {decorator.decorator.value for decorator in method.decorators
                  if isinstance(decorator.decorator, cst.Name)}
    params = [*method.params.posonly_params, *method.params.params]
    if not params or decorators & {"staticmethod", "classmethod"}:
        return None
    return params[0].name.value
