"""Entry point the Pulumi engine runs: assembles the pack and serves it (blocks forever).

    pulumi up --stack prod --policy-pack policies --policy-pack-config policies/config.prod.json

The engine starts `python -u -m pulumi.policy <engine-address> .` in this folder; this file
only lists the policies (and has the SDK deserialise each resource once per call, see
`integration_policies/_once.py`). `PolicyPack(...)` starts the gRPC server and never returns, so it
is constructed here and nowhere else. The per-environment files `config.<env>.json` hold the
settings security signs off for each stack (see README.md).
"""

import gc

from pulumi_policy import EnforcementLevel, PolicyPack

from integration_policies import PACK_NAME, POLICIES
from integration_policies._once import install

install()  # each resource deserialised once per gRPC call, not once per policy
# Everything loaded so far (the IAM action catalogue: tens of thousands of objects) lives as
# long as the pack: out of the collector's sight, so that each full collection during a
# check does not walk it again (a third of the pack's time before).
gc.freeze()
PolicyPack(name=PACK_NAME, enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)
