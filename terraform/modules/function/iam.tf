resource "google_service_account" "this" {
  project      = var.project_id
  account_id   = var.name
  display_name = "confsync function ${var.name}"
}

# Exactly the secrets the function is given as environment variables.
resource "google_secret_manager_secret_iam_member" "accessor" {
  for_each = local.secret_environment_variables

  project   = var.project_id
  secret_id = each.value
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.this.member
}
