"""Blueprints of the child-workflow tests (SPEC §8): a child that runs one worker step, parents that
start one child or fan out over a list."""
from __future__ import annotations

from runtime_support import worker
from goflow.paging import every


def t(c, e, a, n):
    return {"current": c, "event": e, "action": a, "next": n}


def child_blueprint(endpoint: str = "python://workers:ok", activity: str = "child", end: bool = False) -> dict:
    """init -> work (one worker step) -> done; on error it fails. ``end``: an item "decline" ends in
    the end state ``declined`` (status failed) through the worker's event."""
    bp = {"project": "rt", "activity": activity, "states": ["work"],
          "actions": [{"name": "work", "type": "sync"}],
          "transitions": [t("init", "start", "work", "work"), t("work", "success", "continue", "done")],
          "workers": [worker("work", endpoint)]}
    if end:
        bp["end"] = {"declined": "failed"}
        bp["transitions"].append(t("work", "decline", "continue", "declined"))
    return bp


def parent_blueprint(action: dict, activity: str = "parent", on_error: bool = True) -> dict:
    """init -> run (the workflow action) -> done on success; ``failed_end`` on error (when
    ``on_error``, else an error fails the parent); ``declined`` -> ``child_declined``."""
    bp = {"project": "rt", "activity": activity, "states": ["run"], "end": {"child_declined": "completed"},
          "actions": [{"name": "kids", "type": "workflow", **action}],
          "transitions": [t("init", "start", "kids", "run"), t("run", "success", "continue", "done"),
                          t("run", "declined", "continue", "child_declined")]}
    if on_error:
        bp["end"]["failed_end"] = "failed"
        bp["transitions"].append(t("run", "error", "continue", "failed_end"))
    return bp


def kid_outcomes(eng, iid) -> list[tuple]:
    return [(r["outcome"], r["detail"]) for r in every(eng.history, iid)
            if r["outcome"] in ("child-started", "child-ended", "children-refused", "children-cancelled")]
