data "vcr_repository" "app" {
  name = "my-app"
}

# Pin a deployment to what CI pushed: the tag is looked up once, at plan, and the
# deployment runs the digest, so re-tagging v1.4.2 later cannot change what runs.
data "vcr_image" "frontend" {
  repository_id = data.vcr_repository.app.id
  name          = "web/frontend"
  tag           = "v1.4.2"
}

# Or whatever was pushed last.
data "vcr_image" "frontend_latest_push" {
  repository_id = data.vcr_repository.app.id
  name          = "web/frontend"
  most_recent   = true
}

# Or a known digest, to see its tags.
data "vcr_image" "frontend_release" {
  repository_id = data.vcr_repository.app.id
  name          = "web/frontend"
  digest        = "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b"
}

# The container image of a Kubernetes Deployment (or any container service).
output "frontend_image" {
  value = data.vcr_image.frontend.image_uri # <registry>/<repository>/web/frontend@sha256:...
}

output "release_tags" {
  value = data.vcr_image.frontend_release.tags
}
