"""The spending gate: the one place that decides whether a run may spend money.

Every use case that can spend calls ``gate`` after pricing and before sending,
whichever face it came through: single images and videos, storyboards,
batches. Two rules, in this order:

1. **The cap** (``--max-cost`` / ``max_cost``, or the setting from the config
   file or environment) is a hard limit: an estimate above it, or a run that
   cannot be priced while a cap is set, is refused (exit 9).
2. **Approval**, for multi-item runs only (storyboards, and batches above the
   ``approve_above`` threshold): the run needs ``--approve`` (``approve:
   true``), or a cap given with this very request that covers the estimate.
   A cap from the config file or environment limits but never approves.

3. **Billing twice**: resending items whose earlier create may already have
   been billed (``--retry-unknown``) needs ``--approve`` itself, whatever the
   cap; the refusal says how many items may be billed twice and the most
   that could cost.

Free outcomes (``--dry-run``) pass the cap check and need no approval.
The estimate compared is the run's maximum where prices are uncertain.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mediagen.core import errors
from mediagen.core.resources import script_command

EPSILON = 1e-9


@dataclass(frozen=True)
class Budget:
    """What a run is about to spend: the estimate's maximum, whether it is priced, and how to name it."""

    usd: float | None
    priced: bool = True
    what: str = "this request"
    lines: tuple[str, ...] = ()                 # per-item costs for the approval message
    note: str = ""                              # where an approval threshold comes from
    details: dict[str, Any] = field(default_factory=dict)
    likely_usd: float | None = None             # below ``usd`` when the catalog is unsure how it is billed

    def amount(self, digits: int = 4) -> str:
        """``$1.6218`` or, when billing is uncertain, ``$1.6218 in the worst case (likely $0.8109)``."""
        text = f"${self.usd:.{digits}f}"
        if self.likely_usd is not None and self.usd is not None and self.likely_usd < self.usd - EPSILON:
            text += f" in the worst case (likely ${self.likely_usd:.{digits}f}; see the estimate's UNCERTAIN notes)"
        return text


@dataclass(frozen=True)
class Cap:
    """The user's cost cap and whether it was given with this request (then it also approves)."""

    usd: float | None = None
    explicit: bool = False


@dataclass(frozen=True)
class Repeat:
    """Items to send again although their earlier create may already have been billed, and what they cost."""

    items: int = 0
    usd: float | None = None


def gate(budget: Budget, cap: Cap, *, approval_needed: bool = False, approved: bool = False,
         spending: bool = True, partial: dict[str, Any] | None = None, repeat: Repeat | None = None) -> None:
    """Refuse (``BudgetExceeded`` or ``ApprovalRequired``, exit 9) unless the run may spend ``budget``.

    Args:
        approval_needed: multi-item runs over their threshold.
        approved: ``--approve`` / ``approve: true``.
        spending: False for dry runs (cap checked, no approval needed).
        partial: the document to return with a refusal (e.g. the storyboard's budget).
        repeat: items that may be billed twice; they always need ``approved``.
    """
    _check_cap(budget, cap, partial)
    if spending and repeat is not None and repeat.items and not approved:
        raise _repeat_error(repeat, partial)
    if not spending or not approval_needed or approved:
        return
    if cap.explicit and cap.usd is not None and budget.priced and budget.usd is not None:
        return                                  # a cap given now that covers the estimate approves it
    raise _approval_error(budget, cap, partial)


def _check_cap(budget: Budget, cap: Cap, partial: dict[str, Any] | None) -> None:
    if cap.usd is None:
        return
    if not budget.priced or budget.usd is None:
        raise errors.BudgetExceeded(
            f"a max cost of ${cap.usd:.4f} is set but {budget.what} cannot be priced (model not in the catalog)",
            "Use a model from the catalog, add its price with $MEDIAGEN_CATALOG_OVERRIDE, or drop the max cost "
            "(--max-cost / max_cost).", details={"estimate_usd": None, "max_cost": cap.usd}, partial=partial)
    if budget.usd > cap.usd + EPSILON:
        raise errors.BudgetExceeded(
            f"estimated cost {budget.amount()} is over the max cost ${cap.usd:.4f}; nothing was sent",
            "Raise the max cost (--max-cost / max_cost), lower the count, duration or resolution, or use a cheaper "
            f"model ({script_command('estimate_cost.py')} shows the cheapest valid alternative).",
            details={"estimate_usd": budget.usd, "max_cost": cap.usd, **_likely(budget), **budget.details},
            partial=partial)


def _likely(budget: Budget) -> dict[str, Any]:
    """``likely_usd`` for the error details when it differs from the worst case compared."""
    if budget.likely_usd is None or budget.usd is None or budget.likely_usd >= budget.usd - EPSILON:
        return {}
    return {"likely_usd": budget.likely_usd}


def _approval_error(budget: Budget, cap: Cap, partial: dict[str, Any] | None) -> errors.ApprovalRequired:
    amount = budget.amount(2) if budget.priced and budget.usd is not None else "an unpriced amount"
    itemized = f" ({'; '.join(budget.lines)})" if budget.lines else ""
    cover = f" or --max-cost {budget.usd:.2f} (max_cost)" if budget.priced and budget.usd is not None else ""
    return errors.ApprovalRequired(
        f"{budget.what} would spend {amount}{itemized}{budget.note}; nothing was sent",
        f"Check the estimate (--estimate-cost), then run again with --approve (approve: true){cover}: a cap "
        "given with the request also approves. --dry-run shows the requests.",
        details={"estimate_usd": budget.usd if budget.priced else None, "max_cost": cap.usd, **budget.details},
        partial=partial)


def _repeat_error(repeat: Repeat, partial: dict[str, Any] | None) -> errors.ApprovalRequired:
    amount = f"at most ${repeat.usd:.2f}" if repeat.usd is not None else "an unpriced amount"
    return errors.ApprovalRequired(
        f"{repeat.items} item(s) may be billed twice ({amount}): Google may already have billed their earlier "
        "create, whose result never arrived; nothing was sent",
        "Check your usage (AI Studio or the Cloud console) for those items first. To send them again anyway, add "
        "--approve (approve: true); a max cost alone does not approve this.",
        details={"items": repeat.items, "max_usd": repeat.usd}, partial=partial)
