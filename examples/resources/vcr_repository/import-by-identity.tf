# Terraform 1.12 and later: an import block naming the repository by its identity,
# its id and its region (both required). `terraform query` writes such blocks.
import {
  to = vcr_repository.app
  identity = {
    id     = "repo-0f5e4c1a-2b7d-4e8f-9a6b-3c2d1e0f9a8b"
    region = "HCM"
  }
}
