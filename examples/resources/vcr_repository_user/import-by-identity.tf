# Terraform 1.12 and later: an import block naming the user by its identity, its id
# and its region (both required). `terraform query` writes such blocks. As with any
# import, `secret` stays null until rotation_triggers change.
import {
  to = vcr_repository_user.deploy
  identity = {
    id     = "ra-7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
    region = "HAN"
  }
}
