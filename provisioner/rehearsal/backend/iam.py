"""IAM: roles and users, their inline and managed policies, and a pusher's access key.

A role and a user are made alike, and so are their inline policies and attachments: one
function each serves both, given the kind (``role`` or ``user``).

Usage::

    RESOURCES[IAM_ROLE].create(ctx, "quote-to-order-role", inputs)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from contract import aws_types
from provisioner.rehearsal.backend import base
from provisioner.rehearsal.backend.base import Create, Created, Ctx, Find, Inputs, Outputs, Resource

__all__ = ["RESOURCES"]


def _principal(c: Ctx, kind: str, name: str, i: Inputs, **params: Any) -> Created:
    """Create a role or a user (``kind``) with what both take, plus ``params``."""
    title = kind.capitalize()
    made = getattr(c("iam"), f"create_{kind}")(
        **base.drop_none(
            **{f"{title}Name": base.physical(name, i)},
            Path=i.get("path"),
            PermissionsBoundary=i.get("permissionsBoundary"),
            Tags=base.tag_list(i),
            **params,
        )
    )[title]
    principal = made[f"{title}Name"]
    return principal, base.state(i, name=principal, arn=made["Arn"], uniqueId=made[f"{title}Id"])


def _role(c: Ctx, name: str, i: Inputs) -> Created:
    role_name, outputs = _principal(
        c,
        "role",
        name,
        i,
        AssumeRolePolicyDocument=i["assumeRolePolicy"],
        Description=i.get("description"),
        MaxSessionDuration=base.int_or_none(i, "maxSessionDuration"),
    )
    for inline in i.get("inlinePolicies") or []:
        c("iam").put_role_policy(
            RoleName=role_name, PolicyName=inline["name"], PolicyDocument=inline["policy"]
        )
    for policy_arn in i.get("managedPolicyArns") or []:
        c("iam").attach_role_policy(RoleName=role_name, PolicyArn=policy_arn)
    return role_name, outputs


def _user(c: Ctx, name: str, i: Inputs) -> Created:
    return _principal(c, "user", name, i)


def _inline_policy(kind: str) -> Create:
    """A role's or user's inline policy; its id is ``{principal}:{policy name}``."""

    def create(c: Ctx, name: str, i: Inputs) -> Created:
        policy_name = base.physical(name, i)
        getattr(c("iam"), f"put_{kind}_policy")(
            **{f"{kind.capitalize()}Name": i[kind]},
            PolicyName=policy_name,
            PolicyDocument=i["policy"],
        )
        return f"{i[kind]}:{policy_name}", base.state(i, name=policy_name)

    return create


def _inline_policy_listed(kind: str) -> Find:
    def find(c: Ctx, rid: str, o: Outputs) -> object:
        principal, policy = rid.split(":", 1)
        return getattr(c("iam"), f"get_{kind}_policy")(
            **{f"{kind.capitalize()}Name": principal}, PolicyName=policy
        )

    return find


def _attachment(kind: str) -> Create:
    """A managed policy attached to a role or user; its id is ``{principal}/{policy ARN}``."""

    def create(c: Ctx, name: str, i: Inputs) -> Created:
        getattr(c("iam"), f"attach_{kind}_policy")(
            **{f"{kind.capitalize()}Name": i[kind]}, PolicyArn=i["policyArn"]
        )
        return f"{i[kind]}/{i['policyArn']}", base.state(i)

    return create


def _attached(kind: str) -> Find:
    def find(c: Ctx, rid: str, o: Outputs) -> object:
        listing = getattr(c("iam"), f"list_attached_{kind}_policies")
        attached = listing(**{f"{kind.capitalize()}Name": o[kind]})["AttachedPolicies"]
        if o["policyArn"] not in {p["PolicyArn"] for p in attached}:
            raise LookupError(f"{o['policyArn']} is not attached to {kind} {o[kind]}")
        return attached

    return find


def _policy(c: Ctx, name: str, i: Inputs) -> Created:
    policy = c("iam").create_policy(
        **base.drop_none(
            PolicyName=base.physical(name, i),
            Path=i.get("path"),
            PolicyDocument=i["policy"],
            Description=i.get("description"),
            Tags=base.tag_list(i),
        )
    )["Policy"]
    return policy["Arn"], base.state(
        i, name=policy["PolicyName"], arn=policy["Arn"], policyId=policy["PolicyId"]
    )


def _access_key(c: Ctx, name: str, i: Inputs) -> Created:
    key = c("iam").create_access_key(UserName=i["user"])["AccessKey"]
    status = i.get("status") or "Active"
    if status != "Active":
        c("iam").update_access_key(
            UserName=i["user"], AccessKeyId=key["AccessKeyId"], Status=status
        )
    return key["AccessKeyId"], base.state(
        i, secret=key["SecretAccessKey"], status=status, createDate=str(key["CreateDate"])
    )


def _access_key_listed(c: Ctx, rid: str, o: Outputs) -> object:
    keys = c("iam").list_access_keys(UserName=o["user"])["AccessKeyMetadata"]
    if rid not in {k["AccessKeyId"] for k in keys}:
        raise LookupError(f"access key {rid} is not listed for user {o['user']}")
    return keys


_Shown = Callable[[str, Mapping[str, Any]], Iterator[str]]


def _details(kind: str, shown: _Shown) -> base.Listed:
    """Every role or user (``kind``) with its inline and attached policies, in the few pages
    of GetAccountAuthorizationDetails (IAM API reference: 100 items a page unless MaxItems
    says otherwise; moto 5.2.5 answers all in one); ``shown(name, detail)`` answers the ids
    one principal's detail shows, as the per-resource finders name them."""
    title = kind.capitalize()

    def read(c: Ctx, planned: Sequence[base.Planned]) -> Iterator[str]:
        details = base.pages(
            c, "iam", "get_account_authorization_details", f"{title}DetailList[]", Filter=[title]
        )
        for detail in details:
            yield from shown(detail[f"{title}Name"], detail)

    return base.listing(read)


def _principal_types(kind: str, create: Create, *types: str) -> dict[str, Resource]:
    """A role's or user's (``kind``) three resource types (``types``): itself, its inline
    policies (``{principal}:{policy name}``) and its attachments (``{principal}/{policy
    ARN}``), each listed from the principals' details."""
    inline = f"{kind.capitalize()}PolicyList"
    principal, policy, attachment = types
    return {
        principal: Resource(
            create,
            base.described("iam", f"get_{kind}", f"{kind.capitalize()}Name"),
            _details(kind, lambda name, d: iter([name])),
        ),
        policy: Resource(
            _inline_policy(kind),
            _inline_policy_listed(kind),
            _details(
                kind, lambda name, d: (f"{name}:{p['PolicyName']}" for p in d.get(inline) or [])
            ),
        ),
        attachment: Resource(
            _attachment(kind),
            _attached(kind),
            _details(
                kind,
                lambda name, d: (
                    f"{name}/{p['PolicyArn']}" for p in d.get("AttachedManagedPolicies") or []
                ),
            ),
        ),
    }


RESOURCES: dict[str, Resource] = {
    **_principal_types(
        "role",
        _role,
        aws_types.IAM_ROLE,
        aws_types.IAM_ROLE_POLICY,
        aws_types.IAM_ROLE_POLICY_ATTACHMENT,
    ),
    **_principal_types(
        "user",
        _user,
        aws_types.IAM_USER,
        aws_types.IAM_USER_POLICY,
        aws_types.IAM_USER_POLICY_ATTACHMENT,
    ),
    aws_types.IAM_POLICY: Resource(
        _policy,
        base.described("iam", "get_policy", "PolicyArn"),
        base.listing(
            lambda c, planned: base.pages(
                c,
                "iam",
                "get_account_authorization_details",
                "Policies[].Arn",
                Filter=["LocalManagedPolicy"],
            )
        ),
    ),
    aws_types.IAM_ACCESS_KEY: Resource(_access_key, _access_key_listed),
}
