"""Sync Lambdas for one integration: SQS consumer, scheduled batch job, reconciliation.

Handlers (see docs/contracts.md): ``integration_sync.consumer.handler``,
``integration_sync.batch.handler`` and ``integration_sync.reconcile.handler``.
Nothing is imported here so each handler pays only for what it uses at cold start.
"""
