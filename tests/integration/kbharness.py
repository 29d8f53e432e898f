"""The broker harness of the integration tests, now in tests/lib (samsatest.kb); this module
keeps the old names."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from samsatest.kb import (BROKER, Broker, Cluster, KafkaRaw, is_kafka_placement,  # noqa: E402,F401
                          kafka_placement, kstr, metadata_v1, partition_meta, read_records)
from samsatest.wait import wait_for  # noqa: E402,F401
