data "vcr_repository" "app" {
  name = "my-app"
}

data "vcr_repository" "base_images" {
  id     = "repo-0f5e4c1a-2b7d-4e8f-9a6b-3c2d1e0f9a8b"
  region = "HAN"
}

output "app_registry_url" {
  value = data.vcr_repository.app.registry_url
}
