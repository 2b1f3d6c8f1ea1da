"""The one input, homelab.yaml: its schema (`schema`), its located loading (`load`: every value's
line and column), the starter example and its JSON Schema (`starter`). The semantic checks over it
stand higher (`homelabeazy.checks`).

Nothing is imported here: `homelab init` reads the starter without loading pydantic.
"""
