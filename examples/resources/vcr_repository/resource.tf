# A private repository for an application's images, in the provider's region.
resource "vcr_repository" "app" {
  name           = "my-app"
  quota_limit_gb = 20
}

# A public repository in Hanoi that anyone may pull from. Destroying it deletes its
# images first.
resource "vcr_repository" "base_images" {
  name           = "base-images"
  access_level   = "public"
  quota_limit_gb = 50
  region         = "HAN"
  force_destroy  = true
}

output "push_to" {
  value = "docker push ${vcr_repository.app.registry_url}/web:1.0"
}
