"""Multi-host testnets on Linux network namespaces (layer 14): the network substrate and the runner."""
