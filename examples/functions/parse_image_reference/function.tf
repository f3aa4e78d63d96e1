# Terraform 1.8 and later (OpenTofu 1.7 and later).
variable "image" {
  type    = string
  default = "vcr.vngcloud.vn/100001-my-app/web/frontend:v1.4.2"
}

locals {
  # { registry = "vcr.vngcloud.vn", repository = "100001-my-app", image = "web/frontend",
  #   tag = "v1.4.2", digest = null }
  image = provider::vcr::parse_image_reference(var.image)
}

# The repository the image lives in, by its backend name.
data "vcr_repositories" "all" {}

locals {
  repository = one([for r in data.vcr_repositories.all.repositories : r if r.backend_name == local.image.repository])
}

# Pin what the tag points to now.
data "vcr_image" "pinned" {
  repository_id = local.repository.id
  name          = local.image.image
  tag           = local.image.tag
}

output "deploy" {
  value = data.vcr_image.pinned.image_uri
}
