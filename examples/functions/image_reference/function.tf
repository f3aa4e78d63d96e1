# Terraform 1.8 and later (OpenTofu 1.7 and later).
data "vcr_repository" "app" {
  name = "my-app"
}

locals {
  # registry_url is <registry host>/<repository backend name>.
  registry = split("/", data.vcr_repository.app.registry_url)[0]
}

# vcr.vngcloud.vn/100001-my-app/web/frontend:v1.4.2
output "frontend_release" {
  value = provider::vcr::image_reference(local.registry, data.vcr_repository.app.backend_name, "web/frontend", "v1.4.2")
}

# Pinned by digest: the same string data "vcr_image" writes in image_uri.
output "frontend_pinned" {
  value = provider::vcr::image_reference(
    local.registry,
    data.vcr_repository.app.backend_name,
    "web/frontend",
    "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b",
  )
}
