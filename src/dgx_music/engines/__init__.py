"""Music generation engines behind one contract (see ``base``)."""
