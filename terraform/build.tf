# Cloud Build builds each function's image as a dedicated service account, never the default
# compute one, holding only what a build needs: write its logs, push the image to this stack's
# own repository, and read the function sources.
resource "google_service_account" "build" {
  project      = var.project_id
  account_id   = "${var.prefix}-build"
  display_name = "confsync function builds"
}

resource "google_artifact_registry_repository" "functions" {
  #checkov:skip=CKV_GCP_84:the images hold only confsync's own open code and pinned public packages, no data or secrets; Google-managed encryption at rest suffices
  project       = var.project_id
  location      = var.region
  repository_id = "${var.prefix}-functions"
  format        = "DOCKER"
  description   = "Images of the confsync functions, built by Cloud Build."

  # Old images are never run again: keep the last few per function.
  cleanup_policy_dry_run = false
  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = 5
    }
  }
  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      older_than = "2592000s"
    }
  }

  depends_on = [google_project_service.this]
}

# Build logs.
resource "google_project_iam_member" "build_logs" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = google_service_account.build.member
}

resource "google_artifact_registry_repository_iam_member" "build_writer" {
  project    = var.project_id
  location   = google_artifact_registry_repository.functions.location
  repository = google_artifact_registry_repository.functions.name
  role       = "roles/artifactregistry.writer"
  member     = google_service_account.build.member
}

# The uploaded zips, and the copy Cloud Functions stages in its own `gcf-v2-sources-*` bucket,
# which it creates at the first deployment (so the grant is conditional on the bucket name
# rather than on a bucket Terraform could reference).
resource "google_storage_bucket_iam_member" "build_reads_sources" {
  bucket = google_storage_bucket.sources.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.build.member
}

resource "google_project_iam_member" "build_reads_staged_sources" {
  project = var.project_id
  role    = "roles/storage.objectViewer"
  member  = google_service_account.build.member

  condition {
    title       = "gcf-v2-sources"
    description = "Only the bucket Cloud Functions stages function sources in."
    expression  = "resource.name.startsWith(\"projects/_/buckets/gcf-v2-sources-${data.google_project.this.number}-${var.region}\")"
  }
}
