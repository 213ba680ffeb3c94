"""Facts the parts share: names, ownership, and what the roadmap's phases require.

Dependency-free on purpose: the components, the policy pack, the rehearsal, the report
and the Lambda bundles all read from here, and nothing here imports any of them.
"""
