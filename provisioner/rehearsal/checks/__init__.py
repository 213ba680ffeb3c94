"""The rehearsal's smoke checks over a deployed stack, one module each.

Each check takes the rehearsal's ``Deployment`` and returns one ``Check`` per integration
(or credential) it applies to; ``provisioner.rehearsal.runner`` lists them in the order they
run. ``records`` and ``poller`` are what several checks share: realistic records and
their events, and the Lambda SQS poller's part.
"""
