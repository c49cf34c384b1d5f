"""Actions a revision adds anywhere (an annotation's /A or /AA, a field's or a page's /AA, the
catalog's /OpenAction, an action's /Next): a script or a launched program run by the viewer can
change what the document shows (hide or show fields and layers, rewrite values, open another
file), so such an action added after a signature is never benign, whatever the object that
carries it is (ISO 32000-2, 12.6). Links that only go somewhere stay benign."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sigmail.pdf.diff.change import suspicious_change
from sigmail.pdf.objects import PdfDict, Ref, Stream

if TYPE_CHECKING:
    from sigmail.pdf.diff.state import RevisionDiff


# Action types that only navigate (to a place, a web address, another file's page, a thread)
# or name a viewer command: they show nothing new. Anything else may run code or change what
# is shown (JavaScript, Launch, Hide, SetOCGState, ResetForm, ImportData, Rendition, …).
_NAVIGATION = frozenset({"GoTo", "GoToR", "GoToDp", "URI", "Named", "Thread"})

# Keys that hold actions: an action itself, additional-actions dictionaries, chained actions.
_ACTION_KEYS = frozenset({"A", "AA", "OpenAction", "Next"})

_MAX_DEPTH = 16
_MAX_OBJECTS = 256  # action objects followed from one object


def explain_actions(diff: RevisionDiff) -> None:
    for num in sorted(diff.added | diff.rewritten):
        new = _actions(diff, diff.get_new(Ref(num)), new=True)
        if not new:
            continue
        old = _actions(diff, diff.get_old(Ref(num)), new=False) if num in diff.rewritten else []
        for kind, action in new:
            if any(k == kind and diff.same(a, action) for k, a in old):
                continue  # the signer's revision already had it here
            diff.add(
                suspicious_change(
                    "modification_unclassified",
                    f"a /{kind} action was added (object {num}): what it runs can change what "
                    "the document shows",
                    [num],
                    kind="action_added",
                )
            )
            break


def _actions(diff: RevisionDiff, value: Any, *, new: bool) -> list[tuple[str, Any]]:
    """Every non-navigation action held in ``value`` (through the action keys, references
    resolved in the revision), as (its /S, the action dictionary)."""
    get = diff.get_new if new else diff.get_old
    out: list[tuple[str, Any]] = []
    seen: set[int] = set()
    stack: list[tuple[Any, bool, int]] = [(value, False, 0)]
    while stack:
        item, is_action, depth = stack.pop()
        if depth > _MAX_DEPTH or len(seen) > _MAX_OBJECTS:
            continue
        if isinstance(item, Ref):
            if item.num in seen:
                continue
            seen.add(item.num)
            item = get(item)
        if isinstance(item, Stream):
            item = item.dict
        if isinstance(item, list):
            stack.extend(
                (v, is_action, depth + 1) for v in item if is_action or not isinstance(v, Ref)
            )
            continue
        if not isinstance(item, PdfDict):
            continue
        subtype = item.get("S")
        if is_action and isinstance(subtype, str) and subtype not in _NAVIGATION:
            out.append((subtype, item))
        elif is_action and subtype is None and "JS" in item:
            out.append(("JavaScript", item))
        for key, child in item.items():
            if key == "AA":
                # maps triggers (page opened, field changed, …) to actions
                triggers = get(child)
                if isinstance(triggers, PdfDict):
                    stack.extend((v, True, depth + 1) for v in triggers.values())
            elif key in _ACTION_KEYS:
                stack.append((child, True, depth + 1))
            elif not is_action and isinstance(child, PdfDict | list):
                stack.append((child, False, depth + 1))  # direct sub-dictionaries (a widget's /MK)
    return out
