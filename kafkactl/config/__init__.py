"""Settings: flag > environment > config-file context > default, each validated when loaded.

parsers.py   value parsers (string or TOML value -> typed value, ValueError on a bad one)
specs.py     the SPECS table: name, environment variable, default, parser, help per setting
settings.py  the Settings dataclass (one field per spec, checked by a test)
sources.py   precedence, the TOML config file and its contexts, source labels; load_settings
rules.py     rules across settings
files.py     files named by settings, checked by kind and size before they are read
"""

from kafkactl.config.parsers import check_duration
from kafkactl.config.settings import Settings
from kafkactl.config.sources import find_config_file, load_settings
from kafkactl.config.specs import MASK, SPEC_BY_FILE_KEY, SPEC_BY_NAME, SPECS, SettingSpec

__all__ = [
    "MASK",
    "SPECS",
    "SPEC_BY_FILE_KEY",
    "SPEC_BY_NAME",
    "SettingSpec",
    "Settings",
    "check_duration",
    "find_config_file",
    "load_settings",
]
