# Function sources: one private bucket; modules/function uploads one object per function, named
# by the zip's content hash, so a changed bundle is a new object and the function is rebuilt, and
# an unchanged one is not.
resource "google_storage_bucket" "sources" {
  #checkov:skip=CKV_GCP_62:holds only deploy artifacts (the function zips, no data or secrets); Cloud Audit Logs cover it, and legacy usage logs would need a second bucket
  project  = var.project_id
  name     = "${var.project_id}-${var.prefix}-sources"
  location = var.region

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      num_newer_versions = 5
      with_state         = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.this]
}
