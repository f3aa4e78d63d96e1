# The users of Hanoi, to audit who may push where.
data "vcr_repository_users" "han" {
  region = "HAN"
}

output "who_pushes" {
  value = {
    for u in data.vcr_repository_users.han.users :
    u.name => [for p in u.permissions : p.repository_name if p.permission == "push_pull"]
  }
}
