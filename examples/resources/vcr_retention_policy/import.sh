# By the repository's id, in the provider's region (the rules come from the configuration)
terraform import vcr_retention_policy.app repo-0f5e4c1a-2b7d-4e8f-9a6b-3c2d1e0f9a8b

# A repository in another region: prefix the id with it
terraform import vcr_retention_policy.app HAN/repo-0f5e4c1a-2b7d-4e8f-9a6b-3c2d1e0f9a8b
