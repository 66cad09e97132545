"""Exception types that the CLI turns into one-line messages and exit codes.

Library code raises these with a message that names the file or value and says how to fix it;
`gan_style.cli` prints ``error: <message>`` and exits with ``exit_code``. Anything else that
escapes is a bug and keeps its traceback.
"""


class GanStyleError(Exception):
    """Base class of the errors a user can cause and fix."""

    exit_code = 1


class ConfigError(GanStyleError, ValueError):
    """An option or configuration value is invalid."""

    exit_code = 2


class DataError(GanStyleError):
    """Input data is missing, unusable or of the wrong kind."""

    exit_code = 3


class StyleError(GanStyleError):
    """A style bundle is missing, incomplete or incompatible."""

    exit_code = 4


class DependencyError(GanStyleError):
    """A required package (usually TensorFlow) is not installed."""

    exit_code = 5


class TrainingError(GanStyleError):
    """Training cannot go on (non-finite losses, a checkpoint of another configuration)."""

    exit_code = 6
