# In a .tfquery.hcl file beside the configuration: `terraform query` (Terraform 1.14
# and later) lists what exists in vCR, and `terraform query -generate-config-out=FILE`
# writes a resource block, with its repository_permission blocks, and an import
# block for each.

# The repository users of the provider's region whose name starts with "ci-".
list "vcr_repository_user" "ci" {
  provider = vcr

  config {
    name_prefix = "ci-"
  }
}

# Every repository user in Hanoi.
list "vcr_repository_user" "hanoi" {
  provider = vcr

  config {
    region = "HAN"
  }
}
