"""The spec files' JSON Schema, for editors (``cnnsearch schema``)."""

from __future__ import annotations

from cnnsearch.spec import json_schema_text


def spec_schema() -> str:
    """The JSON Schema of spec files, as the package ships it in ``cnnsearch/spec/spec.schema.json``.

    Editors that read JSON Schema for TOML (taplo, VS Code's Even Better TOML) complete and check
    a spec as it is typed once its first line points at this text saved to a file
    (``#:schema ./spec.schema.json``). It is generated from the same models ``validate`` uses.

    Examples:
        >>> import json
        >>> json.loads(cnnsearch.api.spec_schema())["title"]
        'cnnsearch spec'
    """
    return json_schema_text()
