"""Adapters: the only modules that call AWS. One module per API family, clients injected."""
