# Every public repository of the provider's region whose name contains "team-".
data "vcr_repositories" "public_team" {
  name         = "team-"
  access_level = "public"
}

output "public_team_repositories" {
  value = [for r in data.vcr_repositories.public_team.repositories : r.registry_url]
}
