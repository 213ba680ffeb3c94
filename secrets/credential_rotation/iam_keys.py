"""IAM access keys: at most two per user (IAM quotas).

createSecret deletes an inactive key, retires the AWSPREVIOUS key (it has been
superseded for a whole rotation period) and deletes any key no version holds (issued
by a rotation stopped before it stored it), then creates one; setSecret
checks it is active; testSecret calls sts:GetCallerIdentity with it, retrying
while IAM's eventual consistency catches up; finishSecret moves AWSCURRENT and
leaves the previous key active, so an external pusher keeps working until it
reads its new key. ``retire_previous`` deactivates the previous key once IAM
reports it unused for a grace period; the next createSecret deletes it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from credential_rotation.redact import get_logger
from credential_rotation.strategies import RotationError, StepContext, fresh

__all__ = ["STS_RETRY_DELAYS", "IamAccessKeyStrategy"]

LOG = get_logger()

# IAM allows two access keys per user (IAM User Guide, "IAM and AWS STS quotas"): createSecret
# therefore deletes every key but the current one before it creates the next.
# IAM is eventually consistent: a new key may be refused for a few seconds
# (IAM User Guide, "Changes that I make are not always immediately visible").
# 1+2+4+8+10+10 = 35 s of waiting at most; the rotation function's timeout covers it.
STS_RETRY_DELAYS: tuple[float, ...] = (1, 2, 4, 8, 10, 10)
_NOT_YET_VISIBLE = {"InvalidClientTokenId", "SignatureDoesNotMatch", "AccessDenied"}


@dataclass
class IamAccessKeyStrategy:
    """At most two keys: delete an inactive one, create, test via STS, deactivate the old one."""

    iam: Any
    sts_for_key: Callable[[str, str], Any]
    sleep: Callable[[float], None] = time.sleep
    retry_delays: tuple[float, ...] = field(default=STS_RETRY_DELAYS)

    def _keys(self, user: str) -> list[dict[str, Any]]:
        return list(self.iam.list_access_keys(UserName=user)["AccessKeyMetadata"])

    def create(self, ctx: StepContext) -> dict[str, Any]:
        user = ctx.current["user_name"]
        current_id = ctx.current["access_key_id"]
        previous_id = (ctx.previous or {}).get("access_key_id")
        for key in self._keys(user):
            key_id = key["AccessKeyId"]
            if key_id == current_id:
                continue
            if key["Status"] == "Inactive":
                self.iam.delete_access_key(UserName=user, AccessKeyId=key_id)
                LOG.info("%s: deleted inactive access key %s", ctx.arn, key_id)
            elif key_id == previous_id:
                # Superseded for a whole rotation period and still active (no grace-period
                # retirement ran): the pusher has had all that time to switch; retire it.
                self.iam.update_access_key(UserName=user, AccessKeyId=key_id, Status="Inactive")
                self.iam.delete_access_key(UserName=user, AccessKeyId=key_id)
                LOG.info("%s: retired previous access key %s", ctx.arn, key_id)
            else:
                # The pusher's user belongs to this secret alone and only rotation creates its
                # keys: a key no version holds was issued by a rotation stopped before it
                # stored (or even recorded) it. Nobody can have it; take it back.
                self.iam.update_access_key(UserName=user, AccessKeyId=key_id, Status="Inactive")
                self.iam.delete_access_key(UserName=user, AccessKeyId=key_id)
                LOG.warning(
                    "%s: deleted access key %s, which no version holds (issued by an "
                    "interrupted rotation and never stored)",
                    ctx.arn,
                    key_id,
                )
        created = self.iam.create_access_key(UserName=user)["AccessKey"]
        new = fresh(ctx.current)
        new.update(
            access_key_id=created["AccessKeyId"], secret_access_key=created["SecretAccessKey"]
        )
        return new

    def issued_id(self, doc: dict[str, Any]) -> str | None:
        return str(doc.get("access_key_id") or "") or None

    def revoke(self, ctx: StepContext, issued_id: str) -> None:
        try:
            self.iam.delete_access_key(UserName=ctx.current["user_name"], AccessKeyId=issued_id)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchEntity":
                raise

    def discard(self, ctx: StepContext, new: dict[str, Any]) -> None:
        self.iam.delete_access_key(UserName=new["user_name"], AccessKeyId=new["access_key_id"])

    def find_issued(self, ctx: StepContext, label: str) -> list[str]:
        return []  # IAM keys carry no label: ``create`` deletes every key no version holds

    def set(self, ctx: StepContext) -> None:
        assert ctx.pending is not None
        statuses = {k["AccessKeyId"]: k["Status"] for k in self._keys(ctx.pending["user_name"])}
        if statuses.get(ctx.pending["access_key_id"]) != "Active":
            raise RotationError(
                f"{ctx.arn}: pending access key {ctx.pending['access_key_id']} is not active on "
                f"{ctx.pending['user_name']}; cancel this rotation and rotate again"
            )

    def test(self, ctx: StepContext) -> None:
        assert ctx.pending is not None
        pending = ctx.pending
        suffix = f"/{pending['user_name']}"
        last = "no attempt"
        for delay in (*self.retry_delays, None):
            try:
                sts = self.sts_for_key(pending["access_key_id"], pending["secret_access_key"])
                arn = sts.get_caller_identity()["Arn"]
                if arn.endswith(suffix) and ":user/" in arn:
                    return
                last = f"the key identifies as {arn}"
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code not in _NOT_YET_VISIBLE:
                    raise
                last = f"STS answered {code}"
            except BotoCoreError as exc:
                last = type(exc).__name__
            if delay is not None:
                self.sleep(delay)
        raise RotationError(
            f"{ctx.arn}: new access key {pending['access_key_id']} was not accepted by "
            f"sts:GetCallerIdentity as user {pending['user_name']} ({last})"
        )

    def finished(self, ctx: StepContext) -> None:
        # The previous key stays active: an external pusher switches to the new key only
        # when it next reads its secret, and deactivating now would take it down. The next
        # rotation's createSecret retires it (or ``retire_previous`` once it went unused).
        return None

    def retire_previous(self, ctx: StepContext, *, grace_seconds: float, now: float) -> str:
        """Deactivate AWSPREVIOUS's key once unused for ``grace_seconds``; say what happened.

        IAM records when a key was last used (GetAccessKeyLastUsed, IAM API Reference);
        a key used within the grace period, or never since its successor became current
        and the grace has not passed, stays active.
        """
        old = ctx.previous
        if not old or old.get("bootstrap") or not old.get("access_key_id"):
            return "no previous key"
        user, old_id = old["user_name"], old["access_key_id"]
        status = {k["AccessKeyId"]: k for k in self._keys(user)}.get(old_id)
        if status is None or status["Status"] != "Active":
            return f"previous key {old_id} is already inactive or gone"
        used = self.iam.get_access_key_last_used(AccessKeyId=old_id)["AccessKeyLastUsed"]
        last = used.get("LastUsedDate") or status.get("CreateDate")
        last_seconds = last.timestamp() if last is not None else now
        if now - last_seconds < grace_seconds:
            return f"previous key {old_id} was used {now - last_seconds:.0f}s ago; kept active"
        self.iam.update_access_key(UserName=user, AccessKeyId=old_id, Status="Inactive")
        LOG.info(
            "%s: deactivated previous access key %s (unused for the grace period)", ctx.arn, old_id
        )
        return f"deactivated previous key {old_id}"
