"""The one exception type whose message is shown to a person as it is."""


class NNLabError(Exception):
    """A problem the user can fix; its message is one sentence naming the field, file or value."""


class DataError(NNLabError):
    """A dataset or file that cannot be used as given."""


class ConfigError(NNLabError):
    """A configuration value outside what nnlab accepts."""

    def __init__(self, messages: list[str]):
        self.messages = list(messages)
        super().__init__(" ".join(self.messages))
