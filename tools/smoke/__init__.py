"""``make smoke``: prove that a confsync stack works end to end, deployed or local."""
