"""YAML as lindring reads it (workflow configs, model files): PyYAML's safe loader, refusing a
key given twice in one mapping (PyYAML would silently keep the last)."""
from __future__ import annotations

import functools


class DuplicateKeyError(ValueError):
    """A mapping of a YAML text gives one key twice; the message names it and its lines."""


@functools.lru_cache(maxsize=1)
def strict_loader():
    """PyYAML's ``SafeLoader`` that raises :class:`DuplicateKeyError` for a repeated key."""
    import yaml

    class StrictLoader(yaml.SafeLoader):
        """PyYAML's safe loader, refusing a key given twice in one mapping."""

    def construct_mapping(loader, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in seen:
                raise DuplicateKeyError(f"duplicated key {key!r} (lines {seen[key] + 1} and "
                                        f"{key_node.start_mark.line + 1}): YAML would keep only "
                                        "the last")
            seen[key] = key_node.start_mark.line
        return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return StrictLoader
