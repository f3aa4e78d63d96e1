# By id, in the provider's region
terraform import vcr_repository.app repo-0f5e4c1a-2b7d-4e8f-9a6b-3c2d1e0f9a8b

# By name
terraform import vcr_repository.app my-app

# In another region: prefix the id or the name with it
terraform import vcr_repository.base_images HAN/base-images
