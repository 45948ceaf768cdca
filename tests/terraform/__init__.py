"""Offline structural tests of the production Terraform (terraform/)."""
