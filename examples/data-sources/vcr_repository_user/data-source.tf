data "vcr_repository_user" "ci" {
  name = "ci-pusher"
}

output "ci_login" {
  value = data.vcr_repository_user.ci.backend_name
}
