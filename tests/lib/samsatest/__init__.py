"""samsatest — the one harness library of samsa's integration, fault and benchmark tests.

  ports     free_port(): loopback ports outside the kernel's ephemeral range, reserved per
            process, so parallel tests and outgoing connections never take a daemon's port
  net       four_letter(): a ZooKeeper four-letter word (optionally from a network namespace)
  wait      wait_for(): poll a condition with a bound
  workdir   WorkDir: a test's temporary directory, removed when the test passes, kept (and its
            path added to the failure message) when it fails
  daemon    Daemon: a process started in a work directory, its output in a file, stopped by pid;
            noticing at once that it exited (DaemonExited, with its log tail); sanitizer reports
  zk        one coordinator (samsa-coord or the real ZooKeeper 3.8)
  kb        a coordinator and samsa-broker daemons; a raw Kafka client for exact bytes
  ensemble  an ensemble of coordinators on loopback or in network namespaces

Tests find it through PYTHONPATH (tests/meson.build sets it); the old module names
(tests/integration/zkharness.py, kbharness.py, ensharness.py, tests/fault/ensemble.py)
re-export from here.
"""
