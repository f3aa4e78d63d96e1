# In a .tfquery.hcl file beside the configuration: `terraform query` (Terraform 1.14
# and later) lists what exists in vCR, and `terraform query -generate-config-out=FILE`
# writes a resource block and an import block for each.

# The repositories of the provider's region whose name starts with "team-".
list "vcr_repository" "team" {
  provider = vcr

  config {
    name_prefix = "team-"
  }
}

# Every repository in Hanoi, each with its attributes in the output.
list "vcr_repository" "hanoi" {
  provider         = vcr
  include_resource = true
  limit            = 500

  config {
    region = "HAN"
  }
}
