"""The GitOps tree: bundles (one per Application), their manifests, and the validation of them."""
