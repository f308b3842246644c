"""Why a run ended other than by finishing: a typed cause stored beside the sentence (reason) a person reads.

Code decides by the cause (a sweep resumes the trials its own Stop held, a plain Stop of a queued run says it never
started); the sentence is only shown. Stores written before causes existed get theirs once, from their sentences,
when the column is added (old_cause)."""

from __future__ import annotations

from enum import StrEnum


class Cause(StrEnum):
    """Why a run stopped, failed or was interrupted ("" for a run that finished or is still going)."""

    NONE = ""
    USER = "user"  # Stop on its page, Ctrl-C on the command line
    HELD = "held"  # its sweep's Stop: the trial resumes with the sweep
    SIBLING = "sibling"  # another seed of its sweep trial failed or was stopped by hand
    PRUNED = "pruned"  # its sweep's pruner (or that of another seed of its trial)
    TIME_LIMIT = "time_limit"  # its sweep's time limit
    SHUTDOWN = "shutdown"  # the server or the command line was told to end (SIGTERM, a restart): resumable
    LOST = "lost"  # the process, worker or cluster training it went away
    DIVERGED = "diverged"  # its loss became NaN or infinite
    ERROR = "error"  # it failed: the sentence says why

    @classmethod
    def read(cls, text: str | None) -> Cause:
        """A stored cause; none for one this version does not know (written by a later nnlab)."""
        try:
            return cls(text or "")
        except ValueError:
            return cls.NONE


# the status a run asked to stop for each cause ends with
STOP_STATUS = {
    Cause.USER: "stopped",
    Cause.HELD: "stopped",
    Cause.SIBLING: "stopped",
    Cause.PRUNED: "pruned",
    Cause.TIME_LIMIT: "pruned",
    Cause.SHUTDOWN: "interrupted",
    Cause.LOST: "interrupted",
}
USER_STOPPED = "Stopped by the user."
NOT_STARTED = "Stopped before it started."
SHUTDOWN_REASON = (
    "Interrupted: the server or command training it was shut down; resume it to continue from its last epoch."
)
HELD_REASON = "Stopped with its sweep; resume the sweep to continue this trial."
TIME_LIMIT_REASON = "Stopped at the sweep's time limit."
# the sentence a stop for each cause ends with when its caller gives none
STOP_REASON = {
    Cause.USER: USER_STOPPED,
    Cause.HELD: HELD_REASON,
    Cause.SIBLING: "Stopped: another seed of its trial ended it.",
    Cause.PRUNED: "Pruned by its sweep.",
    Cause.TIME_LIMIT: TIME_LIMIT_REASON,
    Cause.SHUTDOWN: SHUTDOWN_REASON,
    Cause.LOST: "The process training this run went away; resume it to continue from its last epoch.",
}


def pruned_reason(epoch: int) -> str:
    """The sentence of a run its sweep's pruner stopped after `epoch`."""
    return f"Pruned after epoch {epoch}: its validation value was behind the other trials' at that epoch."


# -- stores written before the cause was a field ---------------------------------------------------------------
# (the sentences earlier nnlab versions wrote, by cause; read once, by the migration that adds the column)
_OLD_SENTENCES = (
    (Cause.USER, ("Stopped by the user.", "Stopped before it started.")),
    (Cause.HELD, ("Stopped with its sweep;",)),
    (Cause.SIBLING, ("Stopped: another seed of its trial",)),
    (Cause.PRUNED, ("Pruned ",)),
    (Cause.TIME_LIMIT, ("Stopped at the sweep's time limit",)),
    (Cause.SHUTDOWN, ("Interrupted (server shut down)",)),
    (Cause.LOST, ("Lost contact with",)),
)
_OLD_DEFAULTS = {"interrupted": Cause.LOST, "failed": Cause.ERROR, "stopped": Cause.USER, "pruned": Cause.PRUNED}


def old_cause(status: str, reason: str) -> Cause:
    """The cause of a run recorded before causes were stored, from its status and sentence."""
    if status in ("finished", "queued", "running"):
        return Cause.NONE
    if status == "diverged":
        return Cause.DIVERGED
    for cause, starts in _OLD_SENTENCES:
        if reason.startswith(starts):
            return cause
    return _OLD_DEFAULTS.get(status, Cause.NONE)
