"""The exception types whose message is shown to a person as it is, and a form's typed problems."""

from __future__ import annotations

from dataclasses import dataclass


class NNLabError(Exception):
    """A problem the user can fix; its message is one sentence naming the field, file or value."""


class DataError(NNLabError):
    """A dataset or file that cannot be used as given."""


class ConfigError(NNLabError):
    """A configuration value outside what nnlab accepts."""

    def __init__(self, messages: list[str]):
        self.messages = list(messages)
        super().__init__(" ".join(self.messages))


@dataclass(frozen=True)
class Problem:
    """Something that keeps a form from starting: an error to fix, or a hint (an input not given yet) shown
    calmly. The sentence is for people; code reads `hint`."""

    text: str
    hint: bool = False

    @classmethod
    def errors(cls, texts: list[str]) -> list[Problem]:
        """Sentences from a check (validate(), a refusal), as errors."""
        return [cls(t) for t in texts]
