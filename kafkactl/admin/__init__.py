"""What an operator asks of the cluster: topics, groups, health, and changes to them
(through the admin port, as plain data)."""
