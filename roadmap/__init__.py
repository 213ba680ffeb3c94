"""The integration roadmap and a stack's settings: the model, its rules, the phase evidence,
and the files they are read from.

Each module holds one thing a reader looks for; import from it directly (this package
exports nothing, so loading one module does not load the rest):

- ``model``: the whole roadmap; ``systems``: systems and objects; ``integrations``: an
  integration and its parts; ``fields``: the name rules and the base model;
- ``rules`` and ``connector_rules``: the rules that span entries;
- ``problems``: a problem's location and plain words; ``io``: reading files, loading;
- ``evidence``: exit-criteria evidence; ``budget``: the Salesforce API budget;
- ``settings``, ``stack_config``, ``alarm_routing``: a stack's settings.

Usage::

    from roadmap.io import load_roadmap
    from roadmap.problems import RoadmapError
"""
