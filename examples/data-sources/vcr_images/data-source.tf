data "vcr_repository" "app" {
  name = "my-app"
}

# Every image under web/ in the repository, with how many artifacts each holds.
data "vcr_images" "web" {
  repository_id = data.vcr_repository.app.id
  name_prefix   = "web/"
}

output "web_images" {
  value = { for i in data.vcr_images.web.images : i.name => i.artifact_count }
}
