"""The rehearsal's AWS backend: every resource the program registers, created in the emulator.

One module per AWS service, as moto has them (``iam``, ``sqs``, ``lambda_``, ``s3``...),
each with a ``RESOURCES`` table of the type tokens it creates; ``registry`` joins them and
``creator.AwsCreator`` runs them for the mock runtime.

Usage::

    from provisioner.rehearsal.backend import AwsCreator

    creator = AwsCreator(emulator)
    creator.create(SQS_QUEUE, "quote-to-order-queue", inputs)
"""

from provisioner.rehearsal.backend.base import CreationFailed
from provisioner.rehearsal.backend.creator import AwsCreator, CreatedResource, UnsupportedResource

__all__ = ["AwsCreator", "CreatedResource", "CreationFailed", "UnsupportedResource"]
