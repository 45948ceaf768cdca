# APIs the stack needs. Never disabled on destroy: other workloads in the project may use them.
locals {
  services = setunion(
    [
      "artifactregistry.googleapis.com",
      "calendar-json.googleapis.com",
      "cloudbuild.googleapis.com",
      "cloudfunctions.googleapis.com",
      "cloudscheduler.googleapis.com",
      "firestore.googleapis.com",
      "iam.googleapis.com",
      "logging.googleapis.com",
      "monitoring.googleapis.com",
      "pubsub.googleapis.com",
      "run.googleapis.com",
      "secretmanager.googleapis.com",
      "storage.googleapis.com",
    ],
    # delegated: the functions sign their JWTs through the IAM Credentials API.
    local.delegated ? ["iamcredentials.googleapis.com"] : [],
  )
}

resource "google_project_service" "this" {
  for_each = local.services

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}
