# By id, in the provider's region
terraform import vcr_repository_user.ci ra-7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f

# By name, in another region
terraform import vcr_repository_user.deploy HAN/deployer

# vCR never returns a secret again after creation: after an import `secret` is null.
# Change rotation_triggers and apply to get a new one.
