"""The other half of `validate --deep`: each rendered file that is not a Kubernetes object, checked
by its real consumer or its documented schema (Terraform against the bpg provider's schema and
`terraform fmt`, the nftables ruleset with `nft --check`, the playbooks with `ansible-playbook
--syntax-check`). Files in, problems as text out; the tools run through `ops`.
"""
