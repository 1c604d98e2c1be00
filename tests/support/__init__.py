"""What tests of every domain share: the served app and its client, factories, problem
assertions, metric readers, cache and Redis switches, real processes and the test database."""
