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

# An event-driven function's trigger runs as the function's own service account: it receives
# events and may invoke only this function's Cloud Run service.
resource "google_project_iam_member" "event_receiver" {
  count = var.event_trigger == null ? 0 : 1

  project = var.project_id
  role    = "roles/eventarc.eventReceiver"
  member  = google_service_account.this.member
}

resource "google_cloud_run_v2_service_iam_member" "trigger_invoker" {
  count = var.event_trigger == null ? 0 : 1

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.this.name
  role     = "roles/run.invoker"
  member   = google_service_account.this.member
}
